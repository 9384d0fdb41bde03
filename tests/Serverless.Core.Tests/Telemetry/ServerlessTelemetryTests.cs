using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.Core.Billing;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Tests.Telemetry;

public sealed class ServerlessTelemetryTests
{
    [Fact]
    public void A_batch_s_activities_are_children_of_its_orchestration_span_recorded_later_with_the_derived_ids()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = Listen(spans);
        const string BatchId = "batch_telemetry_test";
        var context = ServerlessTelemetry.BatchContext(BatchId);
        Assert.Equal(context, ServerlessTelemetry.BatchContext(BatchId));
        Assert.NotEqual(context.TraceId, ServerlessTelemetry.BatchContext("batch_other").TraceId);

        // An activity (on any instance, in either runtime, under the runtime's own span) names the batch's span as parent.
        using (var runtime = new ActivitySource("Runtime.Under.Test").StartActivity("runtime span"))
        using (var chunk = ServerlessTelemetry.StartBatchActivity(ServerlessTelemetry.Spans.BatchChunk, BatchId))
        {
            Assert.NotNull(chunk);
            Assert.Equal(context.TraceId, chunk.TraceId);
            Assert.Equal(context.SpanId, chunk.ParentSpanId);
            Assert.Equal(BatchId, chunk.GetTagItem(TelemetryAttributes.BatchId));
        }

        var created = DateTimeOffset.UtcNow.AddMinutes(-3);
        var orchestration = ServerlessTelemetry.RecordBatchOrchestration(BatchId, created, span => span.SetTag(TelemetryAttributes.BatchStatus, "completed"));

        Assert.NotNull(orchestration);
        Assert.Equal(context.TraceId, orchestration.TraceId);
        Assert.Equal(context.SpanId, orchestration.SpanId);
        Assert.Equal(context.SpanId, orchestration.Context.SpanId);
        Assert.Equal(default, orchestration.ParentSpanId);
        Assert.Equal(created.UtcDateTime, orchestration.StartTimeUtc);
        Assert.InRange(orchestration.Duration, TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(4));
        Assert.Contains(spans, s => ReferenceEquals(s, orchestration) && s.DisplayName == ServerlessTelemetry.Spans.BatchOrchestration);
    }

    [Theory]
    [InlineData("POST", "https://api.stripe.com/v1/billing/meter_events", "POST /v1/billing/meter_events")]
    [InlineData("GET", "https://api.stripe.com/v1/billing/meters/mtr_61Qx2AbC/event_summaries?customer=cus_1", "GET /v1/billing/meters/{id}/event_summaries")]
    [InlineData("POST", "https://meter-events.stripe.com/v2/billing/meter_event_stream", "POST /v2/billing/meter_event_stream")]
    [InlineData("POST", "http://127.0.0.1:5123/v1/customers/cus_N4x9/", "POST /v1/customers/{id}/")]
    public void A_stripe_call_is_named_by_method_and_path_with_ids_left_out(string method, string url, string operation)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        Assert.Equal(operation, StripeCallTelemetry.Operation(request));
    }

    [Fact]
    public async Task With_an_otlp_endpoint_the_service_spans_are_exported_to_it()
    {
        using var collector = new TcpListener(IPAddress.Loopback, 0);
        collector.Start();
        string endpoint = $"http://127.0.0.1:{((IPEndPoint)collector.LocalEndpoint).Port}";
        string name = "otlp probe " + Guid.NewGuid().ToString("N");
        var received = AcceptUntilAsync(collector, request => request.StartsWith("POST /v1/traces ", StringComparison.Ordinal) && request.Contains(name, StringComparison.Ordinal));
        using var host = Build(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });

        var tracer = host.Services.GetRequiredService<TracerProvider>();
        ServerlessTelemetry.Start(name)!.Dispose();
        var flushed = Task.Run(() => tracer.ForceFlush(10_000));

        string request = await received.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains("Content-Type: application/x-protobuf", request, StringComparison.OrdinalIgnoreCase);
        Assert.True(await flushed);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("false")]
    public void Without_an_otlp_endpoint_or_switched_off_nothing_listens(string? enabled)
    {
        var settings = new Dictionary<string, string?> { ["Telemetry:Enabled"] = enabled };
        if (enabled is not null)
        {
            settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9";
        }

        using var host = Build(settings);

        Assert.Null(host.Services.GetService<TracerProvider>());
        Assert.NotNull(host.Services.GetService<ServerlessMetrics>());
    }

    [Fact]
    public void Each_host_exports_its_own_instruments_only_though_every_host_names_its_meter_the_same()
    {
        var exported = new List<OpenTelemetry.Metrics.Metric>();
        using var first = Build([], services => services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddServerlessInstruments().AddInMemoryExporter(exported)));
        using var second = Build([]);
        var provider = first.Services.GetRequiredService<OpenTelemetry.Metrics.MeterProvider>();

        second.Services.GetRequiredService<ServerlessMetrics>().RecordSettled("other-host", "demo", 5, 7);
        first.Services.GetRequiredService<ServerlessMetrics>().RecordSettled("this-host", "demo", 2, 3);
        Assert.True(provider.ForceFlush());

        var tokens = Assert.Single(exported, m => m.Name == ServerlessMetrics.Names.Tokens);
        var customers = new List<string>();
        foreach (ref readonly var point in tokens.GetMetricPoints())
        {
            foreach (var tag in point.Tags)
            {
                if (tag.Key == TelemetryAttributes.CustomerId)
                {
                    customers.Add((string)tag.Value!);
                }
            }
        }

        Assert.Equal(["this-host", "this-host"], customers);
        Assert.Equal("{token}", tokens.Unit);
    }

    private static IHost Build(Dictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServerlessTelemetry();
        services?.Invoke(builder.Services);
        return builder.Build();
    }

    private static ActivityListener Listen(ConcurrentQueue<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is ServerlessTelemetry.Name or "Runtime.Under.Test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    // A bare HTTP/1.1 endpoint: answers every request 200 (one per connection) until one matches; that request's line,
    // headers and (protobuf) body as text.
    private static async Task<string> AcceptUntilAsync(TcpListener listener, Func<string, bool> match)
    {
        while (true)
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var buffer = new MemoryStream();
            var chunk = new byte[65536];
            int contentLength = 0;
            int headerEnd = -1;
            while (headerEnd < 0 || buffer.Length < headerEnd + contentLength)
            {
                int read = await stream.ReadAsync(chunk);
                if (read == 0)
                {
                    break;
                }

                buffer.Write(chunk, 0, read);
                string head = System.Text.Encoding.Latin1.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
                if (headerEnd < 0 && head.IndexOf("\r\n\r\n", StringComparison.Ordinal) is >= 0 and var end)
                {
                    headerEnd = end + 4;
                    var length = head[..end].Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                    contentLength = length is null ? 0 : int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
            string request = System.Text.Encoding.Latin1.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            if (match(request))
            {
                return request;
            }
        }
    }
}
