using System.Text.Json.Nodes;

namespace Serverless.Testing.Stripe;

/// <summary>One authenticated call as the handlers see it.</summary>
/// <param name="Segments">The path split on '/', e.g. ["v1", "customers", "cus_1"].</param>
/// <param name="Parameters">The form body of a v1 POST, or the query string of a GET.</param>
/// <param name="Json">The body of a v2 POST (null for v1 calls).</param>
/// <param name="ApiKey">The account's secret key the call was made with (for the stream, the one that opened the session).</param>
internal sealed record FakeStripeRequest(
    StripeEndpoint Endpoint,
    string Method,
    string[] Segments,
    StripeForm Parameters,
    JsonNode? Json,
    DateTimeOffset Now,
    string ApiKey);
