using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Dashboard;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Batches;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Fuzz;

/// <summary>
/// No input is a 500: seeded mutations of a valid body on every route that reads JSON get a 2xx or a 4xx, never a
/// 5xx, and the service still serves afterwards.
/// </summary>
[Collection(ServiceTestGroup.Name)]
public sealed class JsonRouteFuzzTests(ServiceFixture service)
{
    private const int Seed = 20261206;
    private const int BodiesPerRoute = 220;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    private enum Auth
    {
        None,
        ApiKey,
        Admin,
        Session,
    }

    private sealed record Target(string Path, Auth Auth, string Seed);

    [Fact]
    public async Task Thousands_of_mutated_bodies_on_every_json_route_get_an_answer_below_500_and_the_service_still_serves()
    {
        var key = await service.CreateKeyAsync("fuzz-co");
        // Every mutated body is validated in full; what still fits a generation is refused by the token rate (429)
        // rather than generating a thousand tokens, which keeps the run short without skipping any validation.
        var limits = service.Services.GetRequiredService<LimitPolicies>();
        await limits.SetAsync(LimitScope.Key, key.Info.KeyId, 1_000_000, 400, null, null, CancellationToken.None);
        await limits.SetAsync(LimitScope.Customer, "fuzz-co", 1_000_000, null, null, null, CancellationToken.None);
        using var apiClient = service.CreateClient(key.Key);
        using var adminClient = service.CreateClient(service.AdminKey);
        using var anonymous = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromMinutes(1) };
        var (sessionClient, csrf) = await SignInAsync("fuzz-co");
        using var _ = sessionClient;
        string inputFile = await apiClient.UploadAsync([BatchCalls.CompletionLine("a", 1), BatchCalls.CompletionLine("b", 1)]);
        string link = service.Services.GetRequiredService<DashboardTokens>().CreateLink("fuzz-co", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(30));

        Target[] targets =
        [
            new("/v1/chat/completions", Auth.ApiKey, """{"model":"demo","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Tell me a story"}],"max_tokens":2,"temperature":0.5,"top_p":0.9,"seed":7,"stop":[" river"],"user":"u1"}"""),
            new("/v1/chat/completions", Auth.ApiKey, """{"model":"demo","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_completion_tokens":2,"stream":true,"stream_options":{"include_usage":true}}"""),
            new("/v1/chat/completions", Auth.ApiKey, """{"model":"demo","messages":[{"role":"user","content":"A city as JSON"}],"max_tokens":3,"response_format":{"type":"json_schema","json_schema":{"name":"city","strict":true,"schema":{"type":"object","properties":{"name":{"type":"string","maxLength":20},"size":{"type":"integer","minimum":0},"tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":3}},"required":["name","size"],"additionalProperties":false}}}}"""),
            new("/v1/chat/completions", Auth.ApiKey, """{"model":"demo","messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"4 C"}],"max_tokens":3,"stream":true,"tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}}],"tool_choice":"required","parallel_tool_calls":false}"""),
            new("/v1/completions", Auth.ApiKey, """{"model":"demo","prompt":"Once upon a time","max_tokens":2,"temperature":0.8,"top_k":5,"seed":3,"stop":["x"],"n":1}"""),
            new("/v1/completions", Auth.ApiKey, """{"model":"demo","prompt":[464,1468,25],"max_tokens":1,"logprobs":0}"""),
            new("/v1/batches", Auth.ApiKey, $$$"""{"input_file_id":"{{{inputFile}}}","endpoint":"/v1/completions","completion_window":"24h","metadata":{"team":"fuzz"}}"""),
            new("/v1/admin/keys", Auth.Admin, """{"customer":"fuzz-admin-co","name":"k","models":["demo"],"expires_at":1893456000}"""),
            new("/v1/admin/prices", Auth.Admin, """{"model":"broken","input_micro_usd_per_million":100,"output_micro_usd_per_million":200,"batch_discount_basis_points":5000,"effective_from":1700000000}"""),
            new("/v1/admin/limits", Auth.Admin, """{"scope":"customer","id":"fuzz-limits-co","requests_per_minute":10,"tokens_per_minute":1000,"spend_cap_micro_usd":5000,"token_cap":100}"""),
            new("/v1/admin/customers", Auth.Admin, """{"id":"fuzz-cust-co","name":"Fuzz","stripe_customer_id":"cus_fuzz"}"""),
            new("/v1/admin/billing/dead-letters/retry", Auth.Admin, """{"ids":[1,2,3]}"""),
            new("/v1/admin/billing/reconcile", Auth.Admin, """{"start":1764979200,"end":1765065600,"fix":false}"""),
            new("/dashboard/api/session", Auth.None, $$"""{"api_key":"{{key.Key}}"}"""),
            new("/dashboard/api/session/link", Auth.None, $$"""{"token":"{{link}}"}"""),
            new("/dashboard/api/keys", Auth.Session, """{"name":"fz","models":["demo"],"expires_in_days":3}"""),
        ];

        var failures = new ConcurrentBag<string>();
        int sent = 0;
        var clock = Stopwatch.StartNew();
        using var parallel = new SemaphoreSlim(4);
        var work = new List<Task>();
        for (int t = 0; t < targets.Length; t++)
        {
            var target = targets[t];
            var mutator = new JsonMutator(Seed + t);
            for (int i = 0; i < BodiesPerRoute && clock.Elapsed < Deadline; i++)
            {
                byte[] body = mutator.Mutate(target.Seed);
                await parallel.WaitAsync();
                work.Add(Task.Run(async () =>
                {
                    try
                    {
                        var client = target.Auth switch
                        {
                            Auth.ApiKey => apiClient,
                            Auth.Admin => adminClient,
                            Auth.Session => sessionClient,
                            _ => anonymous,
                        };
                        using var request = new HttpRequestMessage(HttpMethod.Post, target.Path) { Content = new ByteArrayContent(body) };
                        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                        if (target.Auth == Auth.Session)
                        {
                            request.Headers.Add(DashboardSessions.CsrfHeader, csrf);
                        }

                        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                        string answer = await response.Content.ReadAsStringAsync();
                        Interlocked.Increment(ref sent);
                        if ((int)response.StatusCode >= 500)
                        {
                            failures.Add($"{target.Path} -> {(int)response.StatusCode} {Excerpt(answer)} for {Excerpt(Encoding.UTF8.GetString(body))}");
                        }
                    }
                    finally
                    {
                        parallel.Release();
                    }
                }));
            }
        }

        await Task.WhenAll(work);

        Assert.True(failures.IsEmpty, $"{failures.Count} answers of 500 or more, e.g.:\n{string.Join("\n", failures.Take(8))}");
        Assert.True(sent >= targets.Length * 100, $"only {sent} bodies were sent before the deadline");

        // Still serving, and still serving this customer.
        using var after = await apiClient.PostJsonAsync("/v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"Hi"}],"max_tokens":1}""");
        Assert.True(after.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"after the fuzz: {(int)after.StatusCode}");
        using var models = await apiClient.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }

    private async Task<(HttpClient Client, string Csrf)> SignInAsync(string customer)
    {
        var client = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer() }) { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromMinutes(1) };
        string token = service.Services.GetRequiredService<DashboardTokens>().CreateLink(customer, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(30));
        using (var signIn = await client.PostJsonAsync("/dashboard/api/session/link", new { token }))
        {
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        }

        using var session = await client.GetAsync("/dashboard/api/session");
        var body = await session.ReadJsonAsync();
        return (client, body.GetProperty("csrf_token").GetString()!);
    }

    private static string Excerpt(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
