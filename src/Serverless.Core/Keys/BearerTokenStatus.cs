namespace Serverless.Core.Keys;

internal enum BearerTokenStatus
{
    Present,
    Missing,
    Malformed,
}
