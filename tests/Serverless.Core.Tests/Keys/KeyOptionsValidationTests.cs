using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;
using Serverless.Core.Keys;

namespace Serverless.Core.Tests.Keys;

public sealed class KeyOptionsValidationTests
{
    [Theory]
    [InlineData(null, "Keys:HashSecret is required")]
    [InlineData("short-secret", "Keys:HashSecret must be at least 32 bytes")]
    public void Start_fails_without_a_long_enough_hash_secret(string? secret, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Validate(new() { ["Keys:HashSecret"] = secret }));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Keys:Prefix", "SK_Live")]
    [InlineData("Keys:CacheTtl", "01:00:00")]
    [InlineData("Admin:Key", "too-short")]
    [InlineData("Database:Provider", "SqlServer")]
    public void Start_fails_on_an_invalid_setting(string setting, string value)
    {
        var settings = new Dictionary<string, string?> { ["Keys:HashSecret"] = KeyServices.DefaultSecret, [setting] = value };

        var error = Assert.Throws<OptionsValidationException>(() => Validate(settings));

        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Keys:HashSecret")]
    [InlineData("Admin:Key")]
    public void Start_fails_when_a_secret_is_an_unresolved_key_vault_reference(string setting)
    {
        // What App Service hands the app when its identity cannot read the secret: the reference text itself,
        // which is long enough to pass a length check and must never become the HMAC key or the admin key.
        var settings = new Dictionary<string, string?>
        {
            ["Keys:HashSecret"] = KeyServices.DefaultSecret,
            [setting] = "@Microsoft.KeyVault(SecretUri=https://kv-serverless.vault.azure.net/secrets/admin-key)",
        };

        var error = Assert.Throws<OptionsValidationException>(() => Validate(settings));

        Assert.Contains($"{setting} holds an unresolved Key Vault reference", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Keys:HashSecret", "<at least 32 random bytes, e.g. the output of: openssl rand -base64 48>")]
    [InlineData("Keys:HashSecret", "paste-the-output-of-openssl-rand-here please")]
    [InlineData("Admin:Key", "<admin key, at least 32 characters, e.g. admin-$(openssl rand -hex 24)>")]
    [InlineData("Admin:Key", "admin-0123456789abcdef0123456789abcdef\n")]
    public void Start_fails_when_a_secret_is_a_placeholder_naming_the_setting_not_the_value(string setting, string value)
    {
        var settings = new Dictionary<string, string?> { ["Keys:HashSecret"] = KeyServices.DefaultSecret, [setting] = value.Replace("\\n", "\n", StringComparison.Ordinal) };

        var error = Assert.Throws<OptionsValidationException>(() => Validate(settings));

        Assert.Contains($"{setting} holds a placeholder", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("openssl", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789abcdef", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_plus_a_hash_secret_are_enough_to_start()
    {
        Validate(new() { ["Keys:HashSecret"] = KeyServices.DefaultSecret });
    }

    private static void Validate(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = new ServiceCollection()
            .AddLogging()
            .AddDatabase(configuration)
            .AddApiKeys(configuration)
            .BuildServiceProvider();

        // What the host runs before it starts serving; ValidateOnStart registered the checks.
        provider.GetRequiredService<IStartupValidator>().Validate();
    }
}
