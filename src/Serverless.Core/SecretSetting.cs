namespace Serverless.Core;

/// <summary>
/// Refuses, at start, a secret setting (Keys:HashSecret, Admin:Key, Stripe:ApiKey, Stripe:WebhookSecret) that holds
/// something other than a secret: an unresolved Key Vault reference, or a placeholder such as the ones in
/// local.settings.sample.json. Anyone who read the sample knows a placeholder, so a service keyed with one could have
/// its dashboard sessions forged; and a Stripe key with a space in it fails every call later instead of at start.
/// The message names the setting and never repeats the value.
/// </summary>
internal static class SecretSetting
{
    /// <summary>Why <paramref name="value"/> cannot be used as <paramref name="setting"/>, or null when it can (or is empty).</summary>
    public static string? Problem(string setting, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (KeyVaultReference.IsUnresolved(value))
        {
            return KeyVaultReference.Error(setting);
        }

        return value.AsSpan().IndexOfAny('<', '>') >= 0 || value.Any(char.IsWhiteSpace)
            ? $"{setting} holds a placeholder, not a secret (it contains '<', '>' or whitespace): set a real value; local.settings.sample.json holds placeholders only."
            : null;
    }
}
