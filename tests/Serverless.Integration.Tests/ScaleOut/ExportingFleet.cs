using Serverless.Testing.Stripe;

namespace Serverless.Integration.Tests.ScaleOut;

/// <summary>
/// A fleet whose three instances all run the usage exporter every second against one fake Stripe, each with its own
/// secret key of the one Stripe account, so the fake's call log says which instance made each call. Meters are set up.
/// </summary>
public sealed class ExportingFleet : Fleet
{
    /// <summary>Short, so a survivor takes over from a killed holder within seconds; renewed every third of it while a pass runs.</summary>
    public static readonly TimeSpan ExportLease = TimeSpan.FromSeconds(4);

    private readonly List<string> _stripeKeys = [];

    public FakeStripeServer Stripe { get; private set; } = null!;

    /// <summary>The Stripe secret key of host i.</summary>
    public IReadOnlyList<string> StripeKeys => _stripeKeys;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stripe:ApiBase"] = Stripe.ApiBase,
        ["Stripe:MeterEventsBase"] = Stripe.MeterEventsBase,
        ["Stripe:ExportInterval"] = "00:00:01",
        ["Stripe:ExportLease"] = ExportLease.ToString("c"),
        ["Stripe:RequestTimeout"] = "00:00:15",
        ["Stripe:RetryDelay"] = "00:00:00",
        ["Stripe:MaxRetryDelay"] = "00:00:00",

        // One v1 call per bucket: Stripe allows one at a time per customer and meter, which is what overlapping
        // exporters would break (the fake answers 429 and counts it).
        ["Stripe:StreamThreshold"] = "1000000",

        // Reconciliation would send corrections of its own; this fixture is about the exporter.
        ["Stripe:ReconcileInterval"] = "00:00:00",
    };

    protected override IReadOnlyDictionary<string, string?> HostSettings(int index) =>
        new Dictionary<string, string?> { ["Stripe:ApiKey"] = _stripeKeys[index] };

    public override async Task InitializeAsync()
    {
        Stripe = await FakeStripeServer.StartAsync();
        _stripeKeys.Add(Stripe.ApiKey);
        while (_stripeKeys.Count < Size)
        {
            _stripeKeys.Add(Stripe.AddApiKey());
        }

        await base.InitializeAsync();
        var setup = await Hosts[0].RunCommandAsync("billing", "setup");
        if (setup.ExitCode != 0)
        {
            throw new InvalidOperationException($"billing setup failed ({setup.ExitCode}):\n{setup.Output}");
        }
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Stripe is not null)
        {
            await Stripe.DisposeAsync();
        }
    }
}
