using Serverless.Integration.Tests.Infrastructure;

namespace Serverless.Integration.Tests.Batches;

/// <summary>The local host with a 3-second completion window and a 64 KiB upload limit, to see batches expire and uploads refused.</summary>
public sealed class ShortWindowServiceFixture : ServiceFixture
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    public const long UploadLimit = 64 * 1024;

    protected override void Configure(IDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings["Batch:CompletionWindow"] = Window.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        settings["Files:MaxUploadBytes"] = UploadLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The expiry test writes progress, ledger rows and results from several chunks at once; on a loaded two-core CI
        // machine one of those commits can hold SQLite's write lock past the base fixture's 1 s (kept short there for the
        // outage test), which would turn a poll into a 503.
        settings["Database:BusyTimeout"] = "00:00:05";
    }
}

[CollectionDefinition(Name)]
public sealed class ShortWindowServiceTestGroup : ICollectionFixture<ShortWindowServiceFixture>
{
    public const string Name = "service-short-window";
}
