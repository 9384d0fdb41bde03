using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serverless.Core.Billing;
using Serverless.Core.Dashboard;
using Serverless.Core.Data;
using Serverless.Core.Files;
using Serverless.Core.Inference;
using Serverless.Core.Jobs;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Models;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Tests.Configuration;

/// <summary>
/// local.settings.sample.json documents every setting the app binds, so nothing is configurable only by reading code.
/// The local host's own options (LocalDurableTask) live in Serverless.Local: Integration.Tests checks them
/// (LocalHostSampleSettingsTests).
/// </summary>
public sealed class SampleSettingsTests
{
    private static readonly (string Section, Type Options)[] Bound =
    [
        (InferenceOptions.SectionName, typeof(InferenceOptions)),
        (ModelStorageOptions.SectionName, typeof(ModelStorageOptions)),
        (KeyOptions.SectionName, typeof(KeyOptions)),
        (AdminKeyOptions.SectionName, typeof(AdminKeyOptions)),
        (DatabaseOptions.SectionName, typeof(DatabaseOptions)),
        (MeteringOptions.SectionName, typeof(MeteringOptions)),
        (StripeOptions.SectionName, typeof(StripeOptions)),
        (DashboardOptions.SectionName, typeof(DashboardOptions)),
        (FilesOptions.SectionName, typeof(FilesOptions)),
        (BatchOptions.SectionName, typeof(BatchOptions)),
        (TelemetryOptions.SectionName, typeof(TelemetryOptions)),
    ];

    private static HashSet<string> SampleKeys()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "local.settings.sample.json")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.FullName, "local.settings.sample.json")));
        return doc.RootElement.GetProperty("Values").EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
    }

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(TimeSpan) || type == typeof(decimal);
    }

    [Fact]
    public void Every_bound_option_has_an_entry_in_the_sample_settings()
    {
        var keys = SampleKeys();
        var missing = new List<string>();
        foreach (var (section, options) in Bound)
        {
            foreach (var property in options.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && IsScalar(p.PropertyType)))
            {
                string key = $"{section}__{property.Name}";
                if (!keys.Contains(key))
                {
                    missing.Add(key);
                }
            }
        }

        // A model is an id plus either a blob prefix (shown) or a local folder (the README shows LocalPath).
        foreach (var property in new[] { nameof(ModelDefinition.Id), nameof(ModelDefinition.BlobPrefix) })
        {
            if (!keys.Contains($"ModelStorage__Models__0__{property}"))
            {
                missing.Add($"ModelStorage__Models__0__{property}");
            }
        }

        Assert.Empty(missing);
    }

    [Fact]
    public void Sample_settings_hold_placeholders_not_secrets()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "local.settings.sample.json")))
        {
            dir = dir.Parent;
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.FullName, "local.settings.sample.json")));
        foreach (var setting in doc.RootElement.GetProperty("Values").EnumerateObject())
        {
            bool secret = setting.Name.Contains("Secret", StringComparison.Ordinal) || setting.Name.EndsWith("__Key", StringComparison.Ordinal) || setting.Name.EndsWith("ApiKey", StringComparison.Ordinal);
            if (secret)
            {
                // Empty (off until configured, like Stripe) or a placeholder the service refuses to start on.
                var value = setting.Value.GetString()!;
                Assert.True(value.Length == 0 || value.StartsWith('<'), $"{setting.Name} must be empty or a <placeholder>");
            }
        }
    }

    [Fact]
    public void The_service_refuses_to_start_on_the_sample_settings_naming_each_placeholder_secret()
    {
        var errors = StartupErrors(SampleValues());

        Assert.Contains("Keys:HashSecret holds a placeholder", errors, StringComparison.Ordinal);
        Assert.Contains("Admin:Key holds a placeholder", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("Stripe", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("openssl", errors, StringComparison.Ordinal); // the placeholder text itself is never echoed
    }

    [Fact]
    public void The_sample_settings_with_their_two_secrets_filled_in_start_with_stripe_off_and_the_checkout_database()
    {
        var settings = SampleValues();
        settings["Keys:HashSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        settings["Admin:Key"] = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

        // Under `func start` the worker runs in the build output folder inside the checkout.
        var checkout = Directory.CreateTempSubdirectory("serverless-checkout-");
        try
        {
            File.WriteAllText(Path.Combine(checkout.FullName, "Serverless.sln"), string.Empty);
            var buildOutput = Directory.CreateDirectory(Path.Combine(checkout.FullName, "src", "Serverless.Functions", "bin", "output")).FullName;
            var services = ValidateAtStart(settings, buildOutput);

            Assert.False(services.GetRequiredService<IOptions<StripeOptions>>().Value.Enabled);
            var database = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            Assert.Equal($"Data Source={Path.Combine(checkout.FullName, ".local", "serverless.db")}", database.ConnectionString);
        }
        finally
        {
            checkout.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("Stripe:ApiKey", "<Stripe secret API key, sk_test_... or sk_live_...>")]
    [InlineData("Stripe:ApiKey", "sk_test_ 51Habc")]
    [InlineData("Stripe:WebhookSecret", "<Stripe webhook signing secret, whsec_...>")]
    public void A_placeholder_stripe_secret_stops_the_start_naming_the_setting(string setting, string value)
    {
        var settings = SampleValues();
        settings["Keys:HashSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        settings["Admin:Key"] = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        settings[setting] = value;

        var errors = StartupErrors(settings);

        Assert.Contains($"{setting} holds a placeholder", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_test", errors, StringComparison.Ordinal);
    }

    private static DirectoryInfo SampleDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "local.settings.sample.json")))
        {
            dir = dir.Parent;
        }

        return dir;
    }

    /// <summary>The sample's values as configuration keys (<c>Keys__HashSecret</c> is <c>Keys:HashSecret</c>).</summary>
    private static Dictionary<string, string?> SampleValues()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(SampleDirectory().FullName, "local.settings.sample.json")));
        return doc.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value.GetString());
    }

    /// <summary>Every message the start-up checks fail with (one exception per options type that failed).</summary>
    private static string StartupErrors(Dictionary<string, string?> settings)
    {
        var error = Assert.ThrowsAny<Exception>(() => ValidateAtStart(settings, Directory.GetCurrentDirectory()));
        var errors = error is AggregateException aggregate ? aggregate.InnerExceptions : [error];
        Assert.All(errors, e => Assert.IsType<OptionsValidationException>(e));
        return string.Join("\n", errors.Select(e => e.Message));
    }

    /// <summary>Registers everything both hosts register and runs the checks a host runs before it serves.</summary>
    private static IServiceProvider ValidateAtStart(Dictionary<string, string?> settings, string contentRoot)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = contentRoot });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServerless();
        var host = builder.Build();
        host.Services.GetRequiredService<IStartupValidator>().Validate();
        return host.Services;
    }
}
