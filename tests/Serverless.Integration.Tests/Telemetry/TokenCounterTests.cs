using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Metering;
using Serverless.Core.Telemetry;
using Serverless.Integration.Tests.Batches;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Telemetry;

/// <summary>
/// serverless.tokens is counted when the ledger commits a record, so it equals the ledger: whole and streamed requests,
/// a client that disconnects mid-stream (billed for the tokens until then), a batch line, and a reservation of a dead
/// instance settled by the sweeper. The batch line is counted once in serverless.batch.lines.
/// </summary>
[Collection(TelemetryServiceTestGroup.Name)]
public sealed class TokenCounterTests(TelemetryServiceFixture service)
{
    [Fact]
    public async Task Tokens_counted_by_the_meter_equal_the_ledger_for_the_customer_including_a_disconnect_a_batch_line_and_a_swept_reservation()
    {
        string customer = "tokens-" + Guid.NewGuid().ToString("N")[..8];
        var key = await service.CreateKeyAsync(customer);
        var counted = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var factory = service.Services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This host's meter only (several hosts share the test process).
            if (instrument.Meter.Scope == factory && instrument.Meter.Name == ServerlessTelemetry.Name && instrument.Name is ServerlessMetrics.Names.Tokens or ServerlessMetrics.Names.BatchLines)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        var lines = new ConcurrentQueue<string>();
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == ServerlessMetrics.Names.BatchLines)
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == TelemetryAttributes.BatchLineOutcome)
                    {
                        lines.Enqueue((string)tag.Value!);
                    }
                }

                return;
            }

            string? tokenType = null;
            bool ours = false;
            foreach (var tag in tags)
            {
                ours |= tag.Key == TelemetryAttributes.CustomerId && (string?)tag.Value == customer;
                tokenType = tag.Key == TelemetryAttributes.TokenType ? (string?)tag.Value : tokenType;
            }

            if (ours)
            {
                counted.AddOrUpdate(tokenType!, value, (_, sum) => sum + value);
            }
        });
        listener.Start();

        using var client = service.CreateClient(key.Key);
        using (var whole = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"The river","max_tokens":9,"temperature":0}"""))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        }

        using (var streamed = await client.PostJsonAsync("/v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"Hi"}],"max_tokens":7,"stream":true}"""))
        {
            Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
            await streamed.Content.ReadAsStringAsync();
        }

        // A client that goes away mid-stream: billed for the prompt and what was generated until the server noticed.
        string leftId;
        using (var leaving = service.CreateClient(key.Key, new SocketsHttpHandler { MaxResponseDrainSize = 0 }))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = ApiResponses.Json("""{"model":"demo","prompt":"Once","max_tokens":1500,"stream":true}""") };
            using var response = await leaving.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            leftId = response.Headers.GetValues("x-request-id").Single();
            using var body = await response.Content.ReadAsStreamAsync();
            Assert.True(await body.ReadAsync(new byte[256]) > 0);
        }

        // A batch line, billed at the batch price by its own path through the ledger.
        string file = await client.UploadAsync([BatchCalls.CompletionLine("one", 5)]);
        string batchId = (await client.CreateBatchAsync(file)).GetProperty("id").GetString()!;
        Assert.Equal("completed", BatchCalls.Status(await client.WaitUntilDoneAsync(batchId)));

        // Tests of this host run one at a time: this batch's line is the only one run meanwhile.
        Assert.Equal(["completed"], lines);

        // A reservation whose instance is gone, settled by the sweeper as failed_after_start (prompt billed).
        var now = DateTimeOffset.UtcNow;
        await using (var db = service.Database())
        {
            db.Add(new Reservation
            {
                RequestId = "req_orphan_" + customer,
                KeyId = key.Info.KeyId,
                CustomerId = customer,
                Model = "demo",
                InstanceId = "gone-instance",
                PromptTokens = 11,
                MaxTokens = 20,
                PeriodStart = MeteringClock.PeriodStart(now),
                WindowStart = MeteringClock.WindowStart(now.AddHours(-2)),
                StartedAt = now.AddHours(-2),
            });
            await db.SaveChangesAsync();
        }

        await service.Services.GetRequiredService<ReservationSweeper>().SweepAsync(CancellationToken.None);

        // The disconnected stream settles once the server notices; then the ledger holds five records and no reservation.
        var waited = Stopwatch.StartNew();
        (long Prompt, long Completion, int Records) ledger;
        while (true)
        {
            await using var db = service.Database();
            var records = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.CustomerId == customer).ToListAsync();
            bool open = await db.Set<Reservation>().AnyAsync(r => r.CustomerId == customer);
            ledger = (records.Sum(r => r.PromptTokens), records.Sum(r => r.CompletionTokens), records.Count);
            if (!open && records.Count == 5 && counted.GetValueOrDefault("input") == ledger.Prompt && counted.GetValueOrDefault("output") == ledger.Completion)
            {
                Assert.Contains(records, r => r.Outcome == UsageOutcome.ClientDisconnected && r.CompletionTokens > 0);
                Assert.Contains(records, r => r.Outcome == UsageOutcome.FailedAfterStart && r.PromptTokens == 11);
                Assert.Contains(records, r => r.BatchId == batchId);
                break;
            }

            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30),
                $"ledger: {string.Join(", ", records.Select(r => $"{r.Outcome} {r.PromptTokens}+{r.CompletionTokens}"))}, {ledger.Records} records, {ledger.Prompt} input / {ledger.Completion} output tokens, reservations open: {open}; counted: {counted.GetValueOrDefault("input")} / {counted.GetValueOrDefault("output")}");
            await Task.Delay(50);
        }

        Assert.True(ledger.Prompt > 11 && ledger.Completion > 0);

        // The disconnected stream's completion span says how it ended.
        var left = await service.WaitForTraceAsync((await service.WaitForRequestSpanAsync(leftId)).TraceId, s => s.Any(x => x.DisplayName == "text_completion demo"));
        var completion = Assert.Single(left, s => s.DisplayName == "text_completion demo");
        Assert.Equal(UsageOutcome.ClientDisconnected, completion.GetTagItem(TelemetryAttributes.Outcome));
        Assert.Equal(UsageOutcome.ClientDisconnected, completion.GetTagItem(TelemetryAttributes.ErrorType));
        Assert.Equal(["cancelled"], Assert.IsType<string[]>(completion.GetTagItem(TelemetryAttributes.ResponseFinishReasons)));
    }
}
