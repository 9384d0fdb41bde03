using System.Net.Http.Headers;
using Microsoft.Playwright;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>
/// The local host on a real port (its own Azurite, SQLite file and demo model) with two seeded customers, one with
/// finished batch jobs made through the Batch API, and Debian's Chromium driven by Playwright. Playwright's own
/// browser download does not work on these machines, so the browser is the system one (test.sh installs it); each
/// test opens its own browser context, so cookies never leak between tests.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    /// <summary>Where test.sh collects results; screenshots go under it.</summary>
    public static readonly string ArtifactsDirectory = Path.Combine(RepositoryRoot.Path, "TestResults", "dashboard");

    // Flags for this machine kind: no sandbox as root, and nothing that tries to reach Google's hosts from a closed network.
    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    ];

    private IPlaywright? _playwright;

    public ServiceFixture Service { get; } = new();

    public IBrowser Browser { get; private set; } = null!;

    public SeededCustomer Globex { get; private set; } = null!;

    public SeededCustomer Initech { get; private set; } = null!;

    /// <summary>Globex's batch jobs, finished (Initech has none).</summary>
    public SeededBatches GlobexBatches { get; private set; } = null!;

    public Uri BaseAddress => Service.BaseAddress;

    /// <summary>The Chromium executable: SERVERLESS_TEST_CHROMIUM if set, else Debian's /usr/bin/chromium.</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("SERVERLESS_TEST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"Chromium is not installed at {ChromiumPath}: run 'apt-get install -y chromium' (test.sh does).");
        }

        await Service.InitializeAsync();
        (Globex, Initech) = await DashboardSeed.SeedAsync(Service);

        // One request through the real path too (admission, generation, settlement), newest in the ledger.
        using (var client = Api(Globex.SignInKey.Key))
        using (var response = await client.PostJsonAsync("/v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"Hello"}],"max_tokens":12}"""))
        {
            response.EnsureSuccessStatusCode();
        }

        using (var client = Api(Globex.SignInKey.Key))
        {
            GlobexBatches = await DashboardBatchSeed.CreateAsync(client);
        }

        _playwright = await Playwright.CreateAsync();

        // Playwright gives every launch a fresh, empty user-data-dir of its own.
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
            Timeout = 60_000,
        });
        Directory.CreateDirectory(ArtifactsDirectory);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        await Service.DisposeAsync();
    }

    /// <summary>A new browser context (its own cookies and storage) and a page in it that records console errors.</summary>
    public async Task<DashboardPage> OpenAsync(int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Locale = "en-US",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        return new DashboardPage(context, page);
    }

    /// <summary>An API client authenticated with <paramref name="key"/>.</summary>
    public HttpClient Api(string key) => Service.CreateClient(key);

    /// <summary>A client without any key (for dashboard routes driven by cookies).</summary>
    public HttpClient Anonymous()
    {
        var client = Service.CreateClient();
        client.DefaultRequestHeaders.Authorization = null;
        return client;
    }

    public static AuthenticationHeaderValue Bearer(string key) => new("Bearer", key);
}

[CollectionDefinition(Name)]
public sealed class DashboardTestGroup : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}
