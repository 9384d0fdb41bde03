using System.Text.Json.Nodes;

namespace Serverless.Testing.Stripe;

/// <summary>What the fake answers: status, JSON body and any extra headers.</summary>
internal sealed record FakeStripeResponse(int Status, string Body, IReadOnlyDictionary<string, string> Headers)
{
    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();

    public bool Succeeded => Status is >= 200 and < 300;

    public static FakeStripeResponse Ok(JsonNode body) => new(200, body.ToJsonString(), NoHeaders);

    public static FakeStripeResponse Json(int status, JsonNode body, IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, body.ToJsonString(), headers ?? NoHeaders);

    public FakeStripeResponse WithHeader(string name, string value) =>
        this with { Headers = new Dictionary<string, string>(Headers) { [name] = value } };
}
