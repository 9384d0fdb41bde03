using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Infra;

/// <summary>
/// The Function App's settings in the compiled template match what the app reads (local.settings.sample.json
/// lists every setting), and no secret reaches the app, an output or the deployment history as a plain value.
/// </summary>
[Collection(BicepTemplateGroup.Name)]
public sealed partial class FunctionAppSettingsTests(BicepTemplateFixture bicep)
{
    private const string KeyVaultReference = "@Microsoft.KeyVault(SecretUri=";

    // Sample settings that have no app setting of the same name in Azure, and why.
    private static readonly Dictionary<string, string> ReplacedInAzure = new(StringComparer.Ordinal)
    {
        // Flex Consumption takes the worker runtime from functionAppConfig.runtime and rejects the app setting.
        ["FUNCTIONS_WORKER_RUNTIME"] = "functionAppConfig.runtime.name",
        // The host reaches its storage by identity: AzureWebJobsStorage__accountName/__credential/__clientId.
        ["AzureWebJobsStorage"] = "AzureWebJobsStorage__accountName",
        // Models are reached by identity through ModelStorage__BlobServiceUri; the two settings exclude each other.
        ["ModelStorage__BlobConnectionString"] = "ModelStorage__BlobServiceUri",
        // Relative SQLite paths only: the Function App's Database__ConnectionString is absolute (/tmp/serverless/...).
        ["Database__Root"] = "(local only: the Function App's SQLite path is absolute)",
        // Only the admin CLI uploads models (from a workstation); the Function App never does.
        ["ModelStorage__UploadParallelism"] = "(admin CLI only)",
        // The local host's Durable Task backend; in Azure, host.json's extensions.durableTask configures Durable Functions.
        ["LocalDurableTask__ControlQueueVisibilityTimeout"] = "(local host only: host.json durableTask.storageProvider)",
        ["LocalDurableTask__WorkItemQueueVisibilityTimeout"] = "(local host only: host.json durableTask.storageProvider)",
        ["LocalDurableTask__MaxQueuePollingInterval"] = "(local host only: host.json durableTask.storageProvider)",
        ["LocalDurableTask__PartitionCount"] = "(local host only: host.json durableTask.storageProvider)",
        ["LocalDurableTask__PartitionLeaseInterval"] = "(local host only: host.json durableTask.storageProvider)",
        ["LocalDurableTask__PartitionLeaseRenewInterval"] = "(local host only: host.json durableTask.storageProvider)",
        ["LocalDurableTask__MaxConcurrentActivities"] = "(local host only: host.json durableTask)",
        ["LocalDurableTask__MaxConcurrentOrchestrations"] = "(local host only: host.json durableTask)",
    };

    // Settings the platform reads (not the app), so they are not in local.settings.sample.json.
    private static readonly string[] PlatformSettingPrefixes = ["AzureWebJobsStorage__", "APPLICATIONINSIGHTS_"];

    private readonly FunctionAppTemplate _app = new(bicep.Template);

    [Fact]
    public void Every_setting_the_app_reads_has_a_counterpart_in_the_function_app()
    {
        var sample = FunctionAppTemplate.LocalSettingsSample();
        Assert.Contains("Keys__HashSecret", sample.Keys);

        var missing = sample.Keys
            .Where(name => !ReplacedInAzure.ContainsKey(name) && !_app.Settings.ContainsKey(name))
            .ToList();
        Assert.True(missing.Count == 0, "Settings read by the app but not set on the Function App: " + string.Join(", ", missing));

        foreach (var (name, replacement) in ReplacedInAzure)
        {
            Assert.Contains(name, sample.Keys);
            Assert.DoesNotContain(name, _app.Settings.Keys);
            if (!replacement.StartsWith('(') && !replacement.Contains('.', StringComparison.Ordinal))
            {
                Assert.Contains(replacement, _app.Settings.Keys);
            }
        }

        Assert.Equal(sample["FUNCTIONS_WORKER_RUNTIME"], _app.Site.StringAt("properties.functionAppConfig.runtime.name"));
    }

    [Fact]
    public void Every_function_app_setting_is_listed_in_the_local_settings_sample_or_read_by_the_platform()
    {
        var sample = FunctionAppTemplate.LocalSettingsSample();

        var undocumented = _app.Settings.Keys
            .Where(name => !sample.ContainsKey(name) && !PlatformSettingPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
            .ToList();

        Assert.True(undocumented.Count == 0, "Function App settings missing from local.settings.sample.json: " + string.Join(", ", undocumented));
    }

    [Fact]
    public void Secret_settings_are_key_vault_references_never_literals_or_account_keys()
    {
        var secretSettings = _app.Settings.Where(s => LooksSecret(s.Key)).ToDictionary(s => s.Key, s => s.Value);
        Assert.Superset(
            new HashSet<string> { "Keys__HashSecret", "Admin__Key", "Stripe__ApiKey", "Stripe__WebhookSecret", "Database__ConnectionString" },
            secretSettings.Keys.ToHashSet());

        foreach (var (name, value) in secretSettings)
        {
            if (name == "APPLICATIONINSIGHTS_CONNECTION_STRING")
            {
                continue; // identity-based, proven by the next test
            }

            Assert.True(value.Contains(KeyVaultReference, StringComparison.Ordinal), $"{name} is not a Key Vault reference: {value}");
            AssertCarriesNoCredential(name, value);
        }
    }

    [Fact]
    public void Application_insights_accepts_telemetry_only_with_the_identity_so_its_connection_string_is_no_secret()
    {
        var appInsights = bicep.Template.OfType("Microsoft.Insights/components").Single(r => !r.Existing);
        Assert.True(appInsights.At("properties.DisableLocalAuth")?.GetBoolean(), "local (instrumentation key) ingestion must be disabled");

        Assert.Matches(@"^\[reference\('appInsights'\)\.ConnectionString\]$", _app.Settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]);
        Assert.Contains("Authorization=AAD", _app.Settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
        Assert.Contains("parameters('identityClientId')", _app.Settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
    }

    [Fact]
    public void Sqlite_ledger_is_a_file_on_the_instance_disk_and_postgres_comes_from_key_vault()
    {
        string provider = _app.Settings["Database__Provider"];
        Assert.Equal("[if(parameters('usePostgres'), 'Postgres', 'Sqlite')]", provider);

        string connection = _app.Settings["Database__ConnectionString"];
        var literals = Literals(connection).ToList();
        Assert.Contains(literals, l => l.StartsWith(KeyVaultReference, StringComparison.Ordinal));
        Assert.Contains(literals, l => l.StartsWith("Data Source=/tmp/", StringComparison.Ordinal));
        Assert.Contains("keyVaultSecretNames').databaseConnectionString", connection, StringComparison.Ordinal);

        // SQLite is one file on one instance: main.bicep caps the app at one instance unless PostgreSQL is on.
        Assert.Equal("[if(parameters('enablePostgres'), createObject('value', parameters('maximumInstanceCount')), createObject('value', 1))]",
            bicep.Template.Module("functionApp").Deployment!.StringAt("properties.parameters.maximumInstanceCount"));
    }

    [Fact]
    public void With_postgres_the_default_instance_count_fits_the_servers_connections_with_every_pool_full()
    {
        var parameters = bicep.Template.Root.GetProperty("parameters");
        int Default(string name) => parameters.GetProperty(name).GetProperty("defaultValue").GetInt32();

        // The maximum is a parameter whose default is computed from the server's connection limit.
        Assert.Equal("[div(sub(parameters('postgresMaxConnections'), parameters('postgresReservedConnections')), mul(2, parameters('postgresPoolSizePerInstance')))]",
            parameters.GetProperty("maximumInstanceCount").GetProperty("defaultValue").GetString());
        int maxConnections = Default("postgresMaxConnections");
        int reserved = Default("postgresReservedConnections");
        int pool = Default("postgresPoolSizePerInstance");
        int instances = (maxConnections - reserved) / (2 * pool);
        Assert.InRange(instances, 2, 1000);
        Assert.True(instances * 2 * pool + reserved <= maxConnections, $"{instances} instances x 2 pools x {pool} + {reserved} reserved > {maxConnections}");

        // Each instance caps its pools at that size: the setting the app reads, from the same parameter.
        Assert.Equal("[string(parameters('databaseMaxPoolSize'))]", _app.Settings["Database__MaxPoolSize"]);
        Assert.Equal("[parameters('postgresPoolSizePerInstance')]", bicep.Template.Module("functionApp").Deployment!.StringAt("properties.parameters.databaseMaxPoolSize.value"));
    }

    [Fact]
    public void Secure_parameters_flow_only_into_key_vault_secrets_and_the_database_password()
    {
        var flows = new List<string>();
        foreach (var template in bicep.Template.SelfAndNested)
        {
            var secure = template.SecureParameters;
            foreach (string section in new[] { "variables", "outputs" })
            {
                if (template.Root.TryGetProperty(section, out var content))
                {
                    var leaks = ArmJson.Strings(content, section, skipNestedTemplates: false).Where(s => secure.Any(p => References(s.Value, p))).ToList();
                    Assert.True(leaks.Count == 0, $"{template.Path} {section} use a secure parameter: {string.Join(", ", leaks)}");
                }
            }

            foreach (var resource in template.Resources)
            {
                foreach (var (path, value) in resource.Strings())
                {
                    foreach (string parameter in secure.Where(p => References(value, p)))
                    {
                        Assert.True(IsAllowedSecureUse(resource, path), $"{resource} uses secure parameter '{parameter}' at {path}: {value}");
                        flows.Add($"{resource.Template.Path}:{parameter}->{path}");
                    }
                }
            }
        }

        // Not vacuous: the four app secrets and the PostgreSQL password are all stored somewhere.
        Assert.Contains(flows, f => f.EndsWith(":keysHashSecret->properties.value", StringComparison.Ordinal));
        Assert.Contains(flows, f => f.EndsWith(":adminKey->properties.value", StringComparison.Ordinal));
        Assert.Contains(flows, f => f.EndsWith(":stripeApiKey->properties.value", StringComparison.Ordinal));
        Assert.Contains(flows, f => f.EndsWith(":stripeWebhookSecret->properties.value", StringComparison.Ordinal));
        Assert.Contains(flows, f => f.EndsWith(":administratorPassword->properties.administratorLoginPassword", StringComparison.Ordinal));
    }

    [Fact]
    public void No_template_reads_account_keys_and_no_output_carries_a_secret()
    {
        foreach (var resource in bicep.Template.AllResources)
        {
            var listCalls = resource.Strings().Where(s => ListFunction().IsMatch(s.Value)).ToList();
            Assert.True(listCalls.Count == 0, $"{resource} calls a list* function: {string.Join(", ", listCalls)}");
        }

        foreach (var template in bicep.Template.SelfAndNested)
        {
            if (!template.Root.TryGetProperty("outputs", out var outputs))
            {
                continue;
            }

            foreach (var output in outputs.EnumerateObject())
            {
                Assert.DoesNotMatch("(?i)(password|secret|key$|connectionstring)", output.Name);
                Assert.False(ListFunction().IsMatch(output.Value.ToString()), $"{template.Path} output {output.Name} calls a list* function");
                Assert.DoesNotContain("secure", output.Value.GetProperty("type").GetString()!, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    [Fact]
    public void Settings_that_host_json_refers_to_are_set_in_azure_and_in_the_sample()
    {
        string hostJson = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "host.json"));
        var referenced = HostJsonSetting().Matches(hostJson).Select(m => m.Groups["name"].Value).Distinct().ToList();
        Assert.Contains("DurableTaskHubName", referenced);

        var sample = FunctionAppTemplate.LocalSettingsSample();
        foreach (string name in referenced)
        {
            Assert.Contains(name, _app.Settings.Keys);
            Assert.Contains(name, sample.Keys);
        }
    }

    [Fact]
    public void Host_json_keeps_the_tuned_limits_the_deployment_relies_on()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "host.json")));
        var root = document.RootElement;
        var http = root.GetProperty("extensions").GetProperty("http");

        Assert.Equal(string.Empty, http.GetProperty("routePrefix").GetString());
        // The app's own queue (MaxConcurrentGenerations + MaxQueuedRequests) must answer 429, with Retry-After and an
        // OpenAI-style body, before the host's limit does: compare with the sample's values and main.bicep's defaults.
        var sample = FunctionAppTemplate.LocalSettingsSample();
        int sampleQueue = int.Parse(sample["Inference__MaxConcurrentGenerations"], System.Globalization.CultureInfo.InvariantCulture)
            + int.Parse(sample["Inference__MaxQueuedRequests"], System.Globalization.CultureInfo.InvariantCulture);
        var mainParameters = bicep.Template.Root.GetProperty("parameters");
        int azureQueue = mainParameters.GetProperty("maxConcurrentGenerations").GetProperty("defaultValue").GetInt32()
            + mainParameters.GetProperty("maxQueuedRequests").GetProperty("defaultValue").GetInt32();
        Assert.True(http.GetProperty("maxConcurrentRequests").GetInt32() > Math.Max(sampleQueue, azureQueue));
        Assert.True(http.GetProperty("maxOutstandingRequests").GetInt32() >= http.GetProperty("maxConcurrentRequests").GetInt32());
        // CPU-bound generation keeps the CPU busy by design; dynamic throttles would reject healthy traffic.
        Assert.False(http.GetProperty("dynamicThrottlesEnabled").GetBoolean());
        Assert.True(TimeSpan.Parse(root.GetProperty("functionTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= TimeSpan.FromMinutes(5));
    }

    private static bool IsAllowedSecureUse(ArmResource resource, string path) => (resource.Type, path) switch
    {
        (_, "condition") => true, // "write the secret only when given" reveals nothing
        ("Microsoft.KeyVault/vaults/secrets", "properties.value") => true,
        ("Microsoft.DBforPostgreSQL/flexibleServers", "properties.administratorLoginPassword") => true,
        ("Microsoft.Resources/deployments", _) => PassesToSecureModuleParameter(resource, path),
        _ => false,
    };

    // main.bicep hands a secret to a module only through a parameter the module declares secure.
    private static bool PassesToSecureModuleParameter(ArmResource deployment, string path)
    {
        var match = ModuleParameterPath().Match(path);
        if (!match.Success)
        {
            return false;
        }

        var module = deployment.Template.Nested.Single(n => n.Deployment == deployment);
        return module.SecureParameters.Contains(match.Groups["name"].Value);
    }

    private static void AssertCarriesNoCredential(string name, string value)
    {
        Assert.False(ListFunction().IsMatch(value), $"{name} calls a list* function: {value}");
        Assert.DoesNotContain("parameters('", value.Replace("parameters('usePostgres')", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        foreach (string literal in Literals(value).Where(l => !l.StartsWith(KeyVaultReference, StringComparison.Ordinal)))
        {
            Assert.DoesNotMatch(Credential(), literal);
        }
    }

    private static bool LooksSecret(string name)
    {
        string leaf = name.Split("__")[^1].Replace("_", string.Empty, StringComparison.Ordinal);
        return SecretName().IsMatch(leaf);
    }

    private static bool References(string value, string parameter) =>
        value.Contains($"parameters('{parameter}')", StringComparison.Ordinal);

    // The single-quoted string literals inside an ARM expression, or the value itself when it is a literal.
    private static IEnumerable<string> Literals(string value) =>
        value.StartsWith('[')
            ? ArmStringLiteral().Matches(value).Select(m => m.Groups["text"].Value.Replace("''", "'", StringComparison.Ordinal))
            : [value];

    [GeneratedRegex("(key|secret|password|connectionstring)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"\blist[A-Za-z]*\(", RegexOptions.IgnoreCase)]
    private static partial Regex ListFunction();

    [GeneratedRegex("(?i)(password=|pwd=|accountkey=|sharedaccesskey|sig=|sk_live_|sk_test_|whsec_)")]
    private static partial Regex Credential();

    [GeneratedRegex("'(?<text>(?:[^']|'')*)'")]
    private static partial Regex ArmStringLiteral();

    [GeneratedRegex(@"^properties\.parameters\.(?<name>\w+)\.value$")]
    private static partial Regex ModuleParameterPath();

    [GeneratedRegex("%(?<name>[A-Za-z_][A-Za-z0-9_]*)%")]
    private static partial Regex HostJsonSetting();
}
