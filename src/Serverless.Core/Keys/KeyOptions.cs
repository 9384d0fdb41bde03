namespace Serverless.Core.Keys;

/// <summary>Settings for issuing and verifying API keys (section "Keys").</summary>
public sealed class KeyOptions
{
    public const string SectionName = "Keys";

    /// <summary>Minimum length of <see cref="HashSecret"/> in UTF-8 bytes (the HMAC-SHA256 key size).</summary>
    public const int MinHashSecretBytes = 32;

    /// <summary>
    /// Server secret for the HMAC that keys are stored under; required, at least 32 bytes of UTF-8 (for
    /// example the output of <c>openssl rand -base64 48</c>). Changing it makes every existing key unknown.
    /// </summary>
    public string HashSecret { get; set; } = "";

    /// <summary>Start of every issued key; lower-case letters, digits and single dashes, at most 16 characters.</summary>
    public string Prefix { get; set; } = "sk-svl";

    /// <summary>
    /// How long a successful verification is reused without asking the database. Revocation on this
    /// instance is immediate; other instances notice it (and a disabled customer) within this time.
    /// Zero turns the cache off.
    /// </summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromSeconds(10);
}
