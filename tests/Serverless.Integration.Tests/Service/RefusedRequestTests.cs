using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>A request the service refuses still costs the service, so it is not free for the caller either.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class RefusedRequestTests(ServiceFixture service)
{
    [Fact]
    public async Task Refused_requests_count_against_the_request_rate_and_once_it_is_full_the_answer_is_429()
    {
        var key = await service.CreateKeyAsync("refused-co");
        await service.Services.GetRequiredService<LimitPolicies>().SetAsync(LimitScope.Key, key.Info.KeyId, 5, null, null, null, CancellationToken.None);
        using var client = service.CreateClient(key.Key);

        var statuses = new List<HttpStatusCode>();
        foreach (var body in new[]
        {
            """{"model":"demo","messages":"not a list"}""",
            """{"model":"demo","prompt":"x","max_tokens":-1}""",
            """{"model":"no-such-model","prompt":"x"}""",
            """{"model":"demo","messages":[{"role":"user","content":"x"}],"n":3}""",
            """{"model":"demo","prompt":"x","temperature":9}""",
            """{"model":"demo","messages":[{"role":"user","content":"x"}],"n":3}""",
        })
        {
            string path = body.Contains("messages", StringComparison.Ordinal) ? "/v1/chat/completions" : "/v1/completions";
            using var response = await client.PostJsonAsync(path, body);
            statuses.Add(response.StatusCode);
            if (statuses.Count == 6)
            {
                var error = await response.ReadErrorAsync(429);
                Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
                Assert.True(response.Headers.Contains("Retry-After"));
            }
        }

        Assert.Equal([HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.NotFound, HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.TooManyRequests], statuses);

        // The window holds the five refusals: a valid request is now over the limit too.
        using var valid = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"The river","max_tokens":2}""");
        var limited = await valid.ReadErrorAsync(429);
        Assert.Equal("rate_limit_exceeded", limited.GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_empty_prompt_is_a_400_naming_the_prompt_not_a_500()
    {
        var key = await service.CreateKeyAsync("empty-prompt-co");
        using var client = service.CreateClient(key.Key);

        using var response = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"","max_tokens":1}""");

        var error = await response.ReadErrorAsync(400);
        Assert.Equal("prompt", error.GetProperty("param").GetString());
        Assert.Equal("invalid_value", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_prompt_no_context_could_hold_is_refused_from_its_length_before_it_is_tokenized()
    {
        // The demo model: 2,048 tokens of context, and no GPT-2 token stands for more than 128 characters.
        var key = await service.CreateKeyAsync("long-prompt-co");
        using var client = service.CreateClient(key.Key);
        string prompt = new('a', (2048 * 128) + 1);

        using var response = await client.PostJsonAsync("/v1/chat/completions", $$"""{"model":"demo","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":1}""");

        var error = await response.ReadErrorAsync(400);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Contains("at most 262144 characters", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
