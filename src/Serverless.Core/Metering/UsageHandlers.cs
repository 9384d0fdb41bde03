using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Metering;

/// <summary>GET /v1/usage?start=&amp;end=&amp;group_by=day|model|key: the calling key's customer's usage and cost.</summary>
public sealed class UsageHandler(UsageQueries queries, TimeProvider time) : IApiHandler
{
    public static readonly ApiRoute Route = new("Usage", "GET", "/v1/usage", ApiAuth.ApiKey, typeof(UsageHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.UsageRead };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var caller = call.RequireCaller();
        var query = call.Http.Request.Query;
        var (start, end) = UsageRange.Parse(query, time.GetUtcNow());
        string groupBy = query["group_by"].FirstOrDefault() ?? "day";
        var grouping = groupBy switch
        {
            "day" => UsageGrouping.Day,
            "model" => UsageGrouping.Model,
            "key" => UsageGrouping.Key,
            _ => throw ApiException.InvalidValue("group_by", $"'group_by' must be 'day', 'model' or 'key'; got '{groupBy}'."),
        };

        // Always the caller's own customer: there is no parameter that could name another.
        var groups = await queries.GroupAsync(caller.CustomerId, start, end, grouping, call.Aborted);
        var total = groups.Aggregate(UsageTotals.Zero, (sum, g) => sum.Add(g.Totals));
        var report = new UsageReport(
            caller.CustomerId, start.ToUnixTimeSeconds(), end.ToUnixTimeSeconds(), groupBy,
            groups.Select(g => new UsageGroupObject(g.Group, g.Totals.Requests, g.Totals.PromptTokens, g.Totals.CompletionTokens, g.Totals.CostMicroUsd)).ToList(),
            UsageTotalsObject.From(total));
        await call.WriteJsonAsync(report, MeteringJsonContext.Default.UsageReport);
    }
}

/// <summary>GET /v1/usage/receipt_secret: the secret this customer verifies usage receipts with.</summary>
public sealed class ReceiptSecretHandler(UsageReceipts receipts) : IApiHandler
{
    public static readonly ApiRoute Route = new("ReceiptSecret", "GET", "/v1/usage/receipt_secret", ApiAuth.ApiKey, typeof(ReceiptSecretHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.UsageRead };

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var customer = call.RequireCaller().CustomerId;
        return call.WriteJsonAsync(new ReceiptSecretObject(customer, receipts.SecretFor(customer)), MeteringJsonContext.Default.ReceiptSecretObject);
    }
}

/// <summary>GET /v1/admin/usage?start=&amp;end=&amp;customer=&amp;format=json|csv&amp;limit=: every usage record in the range, streamed.</summary>
public sealed class AdminUsageExportHandler(UsageQueries queries, TimeProvider time) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminUsage", "GET", "/v1/admin/usage", ApiAuth.Admin, typeof(AdminUsageExportHandler));

    private static readonly string[] Columns =
    [
        "request_id", "customer_id", "key_id", "model", "prompt_tokens", "completion_tokens", "cached_prompt_tokens", "price_version",
        "cost_micro_usd", "started_at_ms", "ended_at_ms", "outcome", "instance_id", "batch_id", "corrects_request_id",
    ];

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var query = call.Http.Request.Query;
        var (start, end) = UsageRange.Parse(query, time.GetUtcNow());
        long? limit = UsageRange.ParseLimit(query);
        string? customer = query["customer"].FirstOrDefault();
        string format = query["format"].FirstOrDefault() ?? "json";
        if (format is not ("json" or "csv"))
        {
            throw ApiException.InvalidValue("format", $"'format' must be 'json' or 'csv'; got '{format}'.");
        }

        var response = call.Http.Response;
        var records = queries.RecordsAsync(string.IsNullOrEmpty(customer) ? null : customer, start, end, limit, call.Aborted);
        if (format == "csv")
        {
            response.ContentType = "text/csv; charset=utf-8";
            response.Headers.ContentDisposition = "attachment; filename=usage.csv";
            await WriteCsvAsync(response.Body, records, call.Aborted);
            return;
        }

        response.ContentType = "application/json";
        await WriteJsonAsync(response.Body, records, call.Aborted);
    }

    public static async Task WriteCsvAsync(Stream output, IAsyncEnumerable<UsageRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        await using var writer = new StreamWriter(output, new UTF8Encoding(false), 65536, leaveOpen: true) { NewLine = "\n" };
        await writer.WriteLineAsync(string.Join(',', Columns));
        await foreach (var r in records.WithCancellation(cancellationToken))
        {
            await writer.WriteLineAsync(string.Join(',',
                Csv(r.RequestId), Csv(r.CustomerId), Csv(r.KeyId), Csv(r.Model), Num(r.PromptTokens), Num(r.CompletionTokens), Num(r.CachedPromptTokens),
                Num(r.PriceVersion), Num(r.CostMicroUsd), Num(r.StartedAt.ToUnixTimeMilliseconds()), Num(r.EndedAt.ToUnixTimeMilliseconds()),
                Csv(r.Outcome), Csv(r.InstanceId), Csv(r.BatchId), Csv(r.CorrectsRequestId)));
        }
    }

    public static async Task WriteJsonAsync(Stream output, IAsyncEnumerable<UsageRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);

        // The writer fills a pipe's buffer; only the pipe touches the stream, asynchronously (responses forbid sync I/O).
        var pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        await using (var json = new Utf8JsonWriter(pipe))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            await foreach (var r in records.WithCancellation(cancellationToken))
            {
                JsonSerializer.Serialize(json, UsageRecordObject.From(r), MeteringJsonContext.Default.UsageRecordObject);
                if (pipe.UnflushedBytes > 32768)
                {
                    await pipe.FlushAsync(cancellationToken);
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        await pipe.CompleteAsync();
    }

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);

    // RFC 4180 quoting; a leading formula character is neutralised so a spreadsheet never evaluates a cell.
    private static string Csv(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        if (value[0] is '=' or '+' or '-' or '@')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
