using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Billing;
using Serverless.Core.Http;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Telemetry;

/// <summary>
/// GET /metrics on the service's port: Prometheus text with the OpenTelemetry exporter's names, for the admin key only;
/// any other caller gets the admin API's 401 in OpenAI's error shape.
/// </summary>
[Collection(TelemetryServiceTestGroup.Name)]
public sealed class MetricsEndpointTests(TelemetryServiceFixture service)
{
    [Theory]
    [InlineData(null)]
    [InlineData("admin-wrong-0123456789abcdef0123456789abcdef")]
    [InlineData("api-key")]
    public async Task Metrics_without_the_admin_key_is_refused_as_the_admin_api_refuses(string? key)
    {
        using var client = new HttpClient { BaseAddress = service.BaseAddress };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key == "api-key" ? service.ApiKey : key);
        }

        using var response = await client.GetAsync("/metrics");
        var error = await response.ReadErrorAsync(401);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.DoesNotContain("serverless_", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_with_the_admin_key_lists_the_service_metrics_under_their_prometheus_names()
    {
        Assert.DoesNotContain(service.Services.GetRequiredService<ApiRouteTable>().All, r => r.Template == "/metrics");
        using var client = service.CreateClient();
        using (var completion = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"The river","max_tokens":5}"""))
        {
            Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        }

        using (var refused = await client.PostJsonAsync("/v1/completions", """{"model":"no-such-model","prompt":"x"}"""))
        {
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }

        // The export backlog is read off the scrape path: wait for the first figure.
        await service.Services.GetRequiredService<ExportBacklogReader>().ReadAsync();

        using var admin = service.CreateClient(service.AdminKey);
        string[] expected =
        [
            "serverless_tokens_total{",
            "gen_ai_server_request_duration_seconds_bucket{",
            "gen_ai_server_time_to_first_token_seconds_bucket{",
            "gen_ai_server_time_per_output_token_seconds_bucket{",
            "serverless_generation_output_tokens_bucket{",
            "serverless_queue_duration_seconds_bucket{",
            "serverless_queue_length{",
            "serverless_generation_slots_in_use",
            "serverless_generation_slots_limit",
            "serverless_ledger_commit_duration_seconds_bucket",
            "serverless_ledger_commit_size_bucket",
            "serverless_billing_outbox_pending",
            "serverless_billing_outbox_oldest_age_seconds",
            "serverless_api_errors_total{",
            "serverless_model_load_duration_seconds_bucket{",
            "serverless_model_cold_starts_total{",
        ];
        var waited = Stopwatch.StartNew();
        while (true)
        {
            using var response = await admin.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            string text = await response.Content.ReadAsStringAsync();
            var missing = expected.Where(name => !text.Contains(name, StringComparison.Ordinal)).ToList();
            if (missing.Count == 0)
            {
                Assert.Contains("gen_ai_token_type=\"input\"", text, StringComparison.Ordinal);
                Assert.Contains("error_type=\"model_not_found\"", text, StringComparison.Ordinal);
                Assert.DoesNotContain(service.ApiKey, text, StringComparison.Ordinal);
                break;
            }

            // The exporter caches a scrape briefly; the backlog gauges appear once read.
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), "Missing from /metrics: " + string.Join(", ", missing) + "\n" + text);
            await Task.Delay(200);
        }
    }
}
