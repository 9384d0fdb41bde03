using System.Diagnostics.CodeAnalysis;
using Serverless.Core.Http;

namespace Serverless.Core.Keys;

/// <summary>The outcome of <see cref="ApiKeyService.AuthenticateAsync"/>: a principal or a reason.</summary>
public sealed class KeyAuthResult
{
    private static readonly KeyAuthResult[] Failures =
        Enum.GetValues<KeyAuthFailure>().Select(reason => new KeyAuthResult(null, reason)).ToArray();

    private KeyAuthResult(ApiCaller? principal, KeyAuthFailure failure)
    {
        Principal = principal;
        Failure = failure;
    }

    public ApiCaller? Principal { get; }

    /// <summary><see cref="KeyAuthFailure.None"/> on success.</summary>
    public KeyAuthFailure Failure { get; }

    [MemberNotNullWhen(true, nameof(Principal))]
    public bool Succeeded => Principal is not null;

    /// <summary>Safe to return to the caller: never contains any part of the presented key.</summary>
    public string? ErrorMessage => Failure switch
    {
        KeyAuthFailure.None => null,
        KeyAuthFailure.Missing => "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        KeyAuthFailure.Revoked => "The API key provided has been revoked.",
        KeyAuthFailure.Expired => "The API key provided has expired.",
        KeyAuthFailure.CustomerDisabled => "The account this API key belongs to has been disabled.",
        _ => "Incorrect API key provided.",
    };

    public static KeyAuthResult Success(ApiCaller principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return new KeyAuthResult(principal, KeyAuthFailure.None);
    }

    public static KeyAuthResult Fail(KeyAuthFailure reason)
    {
        if (reason == KeyAuthFailure.None || !Enum.IsDefined(reason))
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "A failure needs a reason.");
        }

        return Failures[(int)reason];
    }

    public override string ToString() => Succeeded ? $"Success({Principal.KeyId})" : $"Failure({Failure})";
}
