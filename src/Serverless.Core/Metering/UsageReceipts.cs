using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Serverless.Core.Keys;

namespace Serverless.Core.Metering;

/// <summary>
/// Signed usage receipts. A receipt is the text
/// <c>request_id=…;prompt_tokens=…;completion_tokens=…;price_version=…;cost_micro_usd=…</c> followed by
/// <c>;signature=</c> and the hex HMAC-SHA256 of that text under the customer's receipt secret. The secret is
/// derived per customer from the server's hash secret, so it needs no storage and differs for every customer.
/// </summary>
public sealed class UsageReceipts(IOptions<KeyOptions> keys)
{
    public const string Header = "x-usage-receipt";

    private const string SignatureField = ";signature=";

    private readonly byte[] _master = Encoding.UTF8.GetBytes(keys.Value.HashSecret ?? string.Empty);

    /// <summary>The customer's receipt secret (hex), shown to the customer so they can verify receipts.</summary>
    public string SecretFor(string customerId)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        return Convert.ToHexStringLower(HMACSHA256.HashData(_master, Encoding.UTF8.GetBytes("usage-receipt:" + customerId)));
    }

    public string Create(string customerId, Settlement settlement)
    {
        ArgumentNullException.ThrowIfNull(settlement);
        string text = string.Create(CultureInfo.InvariantCulture,
            $"request_id={settlement.RequestId};prompt_tokens={settlement.PromptTokens};completion_tokens={settlement.CompletionTokens};price_version={settlement.PriceVersion};cost_micro_usd={settlement.CostMicroUsd}");
        return text + SignatureField + Sign(SecretFor(customerId), text);
    }

    /// <summary>What a customer does with a receipt and their secret: recompute the signature and compare.</summary>
    public static bool Verify(string receipt, string customerSecretHex)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        int at = receipt.LastIndexOf(SignatureField, StringComparison.Ordinal);
        if (at < 0)
        {
            return false;
        }

        string expected = Sign(customerSecretHex, receipt[..at]);
        return CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(receipt[(at + SignatureField.Length)..]));
    }

    private static string Sign(string secretHex, string text) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secretHex), Encoding.UTF8.GetBytes(text)));
}
