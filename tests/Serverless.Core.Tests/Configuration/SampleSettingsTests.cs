using System.Reflection;
using System.Text.Json;
using Serverless.Core.Billing;
using Serverless.Core.Dashboard;
using Serverless.Core.Data;
using Serverless.Core.Inference;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Models;

namespace Serverless.Core.Tests.Configuration;

/// <summary>local.settings.sample.json documents every setting the app binds, so nothing is configurable only by reading code.</summary>
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
                Assert.StartsWith("<", setting.Value.GetString(), StringComparison.Ordinal);
            }
        }
    }
}
