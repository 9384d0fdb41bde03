namespace Serverless.Core.Keys;

/// <summary>The operator's key for the admin API (section "Admin").</summary>
public sealed class AdminKeyOptions
{
    public const string SectionName = "Admin";

    public const int MinKeyLength = 32;

    /// <summary>When empty, the admin API accepts nobody. When set, at least 32 characters.</summary>
    public string? Key { get; set; }
}
