namespace Serverless.Core;

/// <summary>
/// Recognises an App Service Key Vault reference that the platform could not resolve. When the app's identity
/// cannot read the secret (missing role, deleted secret, vault firewall), Azure hands the app the reference text
/// itself, <c>@Microsoft.KeyVault(SecretUri=...)</c>, instead of the secret. That text is long enough to pass a
/// length check and is public knowledge, so a secret setting holding it must stop the app rather than be used.
/// </summary>
internal static class KeyVaultReference
{
    private const string Prefix = "@Microsoft.KeyVault(";

    public static bool IsUnresolved(string? value) =>
        value is not null && value.TrimStart().StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    public static string Error(string setting) =>
        $"{setting} holds an unresolved Key Vault reference: the secret is missing or the app's identity lacks the 'Key Vault Secrets User' role (see infra/README.md).";
}
