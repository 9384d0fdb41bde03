using Microsoft.Extensions.Logging;

namespace Serverless.Core.Keys;

// Key ids are public; keys, secrets and hashes never appear in these messages.
internal static partial class KeysLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Created API key {KeyId} for customer {CustomerId}")]
    public static partial void KeyCreated(this ILogger logger, string keyId, string customerId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Created customer {CustomerId}")]
    public static partial void CustomerCreated(this ILogger logger, string customerId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Revoked API key {KeyId}")]
    public static partial void KeyRevoked(this ILogger logger, string keyId);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "Rejected an API key: {Reason}")]
    public static partial void KeyRejected(this ILogger logger, KeyAuthFailure reason);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "Rejected API key {KeyId}: {Reason}")]
    public static partial void KeyRejected(this ILogger logger, string keyId, KeyAuthFailure reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Could not record last use of API key {KeyId}; the request goes on")]
    public static partial void LastUsedUpdateFailed(this ILogger logger, string keyId, Exception exception);
}
