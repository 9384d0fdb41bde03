namespace Serverless.Core.Keys;

public enum ApiKeyStatus
{
    Active,
    Revoked,
    Expired,
}
