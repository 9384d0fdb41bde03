namespace Serverless.Core.Keys;

public enum ApiKeyStatus
{
    Active,
    Revoked,
    Expired,
}

public static class ApiKeyStatusNames
{
    /// <summary>The status as the admin API and the dashboard show it: "active", "revoked" or "expired".</summary>
    public static string Name(this ApiKeyStatus status) => status switch
    {
        ApiKeyStatus.Revoked => "revoked",
        ApiKeyStatus.Expired => "expired",
        _ => "active",
    };
}
