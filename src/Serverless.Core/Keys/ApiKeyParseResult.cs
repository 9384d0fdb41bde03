namespace Serverless.Core.Keys;

internal enum ApiKeyParseResult
{
    Valid,
    Malformed,
    BadChecksum,
}
