using System.Text.Json;
using Serverless.Core.Http;

namespace Serverless.Core.Billing;

/// <summary>
/// A webhook's event, read from its (already verified) body. Signed does not mean well formed: a body that is not a JSON
/// object with a string id and type is the sender's error, a 400, never a 500.
/// </summary>
/// <param name="Created">When Stripe created the event; null when it does not say. Stripe does not promise delivery in order: this says which state is newer.</param>
/// <param name="Root">The whole event object.</param>
public sealed record StripeWebhookEvent(string Id, string Type, DateTimeOffset? Created, JsonElement Root)
{
    private const int MaxIdLength = 255;

    /// <summary>The event in <paramref name="payload"/>; <paramref name="invalidText"/> is what <see cref="JsonText.FindInvalid(ReadOnlySpan{byte})"/> found wrong with its bytes.</summary>
    public static StripeWebhookEvent Parse(string payload, string? invalidText)
    {
        JsonElement root;
        try
        {
            // Cloned out of the document, so nothing pooled outlives this call.
            using var document = JsonDocument.Parse(payload);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw ApiException.BadRequest("The event is not JSON.", code: "invalid_json");
        }

        if (invalidText is { } invalid)
        {
            throw ApiException.BadRequest($"The event is not valid JSON text: {invalid}.", code: "invalid_json");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.BadRequest("The event is not a JSON object.", code: "invalid_event");
        }

        string id = Text(root, "id") ?? string.Empty;
        string type = Text(root, "type") ?? string.Empty;
        if (id.Length == 0 || type.Length == 0)
        {
            throw ApiException.BadRequest("The event has no id or type (both strings).", code: "invalid_event");
        }

        if (id.Length > MaxIdLength || type.Length > MaxIdLength)
        {
            throw ApiException.BadRequest("The event's id or type is too long.", code: "invalid_event");
        }

        var created = root.TryGetProperty("created", out var createdElement) && createdElement.ValueKind == JsonValueKind.Number && createdElement.TryGetInt64(out long seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, 253402300799))
            : (DateTimeOffset?)null;
        return new StripeWebhookEvent(id, type, created, root);
    }

    /// <summary>A string property of an object; null when it is missing or not a string.</summary>
    public static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
