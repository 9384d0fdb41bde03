using System.Reflection;
using Serverless.Local.Jobs;

namespace Serverless.Integration.Tests.Infra;

/// <summary>
/// local.settings.sample.json documents the local host's own options too (Core.Tests' SampleSettingsTests covers the
/// options both hosts bind; the local host's live in Serverless.Local, which only this project references).
/// </summary>
public sealed class LocalHostSampleSettingsTests
{
    /// <summary>Every options class of the local host: the types with a <c>SectionName</c> constant.</summary>
    private static IEnumerable<(string Section, Type Options)> LocalHostOptions() =>
        typeof(LocalDurableTaskOptions).Assembly.GetTypes()
            .Select(type => (Type: type, Field: type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)))
            .Where(t => t.Field is { IsLiteral: true } && t.Field.FieldType == typeof(string))
            .Select(t => ((string)t.Field!.GetRawConstantValue()!, t.Type));

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(TimeSpan) || type == typeof(decimal);
    }

    [Fact]
    public void Every_option_the_local_host_binds_has_an_entry_in_the_sample_settings()
    {
        var options = LocalHostOptions().ToList();
        Assert.Contains((LocalDurableTaskOptions.SectionName, typeof(LocalDurableTaskOptions)), options);

        var sample = FunctionAppTemplate.LocalSettingsSample();
        var missing = options
            .SelectMany(o => o.Options.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanWrite && IsScalar(p.PropertyType))
                .Select(p => $"{o.Section}__{p.Name}"))
            .Where(key => !sample.ContainsKey(key))
            .ToList();

        Assert.Empty(missing);
    }
}
