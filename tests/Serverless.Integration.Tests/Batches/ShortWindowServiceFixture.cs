using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Batches;

/// <summary>
/// The local host with a 3-second completion window, a 64 KiB upload limit, small file quotas (4 files, 192 KiB a
/// customer) and a fast expired-file sweep, to see batches expire, uploads refused and expired files deleted.
/// </summary>
public sealed class ShortWindowServiceFixture : ServiceFixture
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    public const long UploadLimit = 64 * 1024;

    public const int MaxFiles = 4;

    public const long MaxBytes = 3 * UploadLimit;

    protected override void Configure(IDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings["Batch:CompletionWindow"] = Window.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        settings["Files:MaxUploadBytes"] = UploadLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Files:MaxFilesPerCustomer"] = MaxFiles.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Files:MaxBytesPerCustomer"] = MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Files:SweepInterval"] = "00:00:00.200";
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
