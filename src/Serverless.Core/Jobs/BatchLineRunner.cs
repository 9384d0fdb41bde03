using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Inference;
using Serverless.Core.Metering;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Jobs;

/// <summary>
/// Runs one line of a batch through <see cref="CompletionService.CompleteAsync"/>: the same parsing, checks, budget
/// reservation and metering as the route, under the line's stable request id and the batch's id, with the line's
/// output stored by the ledger alongside its record. A line run again (its chunk re-executed after a crash) resumes
/// rather than bills twice: a settled line is answered with its stored output, a reserved one is taken over. Bounds
/// how many lines generate at once on this instance. Each line run is counted by outcome (<c>serverless.batch.lines</c>);
/// a line answered from its stored output is not counted again.
/// </summary>
public sealed partial class BatchLineRunner
{
    private readonly CompletionService _completions;
    private readonly BatchOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<BatchLineRunner> _logger;
    private readonly ServerlessMetrics _metrics;
    private readonly OrderedSlots _lines;
    private long _chunks;

    public BatchLineRunner(CompletionService completions, IOptions<BatchOptions> options, TimeProvider time, ILogger<BatchLineRunner> logger, ServerlessMetrics metrics)
    {
        _metrics = metrics;
        ArgumentNullException.ThrowIfNull(options);
        _completions = completions;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _lines = new OrderedSlots(_options.MaxConcurrentLines);
    }

    /// <summary>A chunk's place in line for slots: chunks that started earlier on this instance go first.</summary>
    public long NextChunkTicket() => Interlocked.Increment(ref _chunks);

    /// <summary>
    /// Runs the line; returns its result entry (whether it goes to the output file, and the line for it), or null when
    /// <paramref name="stop"/> was signalled before the line got its turn (it did not run). A line that started is not
    /// interrupted by <paramref name="stop"/>.
    /// </summary>
    public async Task<BatchLineOutcome?> RunAsync(BatchJob job, ApiCaller caller, BatchInputLine line, long ticket, CancellationToken stop, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(line);
        await _lines.WaitAsync(ticket);
        try
        {
            if (stop.IsCancellationRequested)
            {
                return null;
            }

            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    return await RunOnceAsync(job, caller, line, cancellationToken);
                }
                catch (ApiException ex) when (ex.Status >= 500 && attempt < _options.LineAttempts)
                {
                    LogRetry(_logger, BatchLines.RequestId(job.Id, line.Index), ex.Status, attempt);
                    await Task.Delay(TimeSpan.FromSeconds(Math.Pow(2, attempt - 1)), _time, cancellationToken);
                }
                catch (ApiException ex)
                {
                    _metrics.CountBatchLine(LineFailed);
                    return BatchLineOutcome.Failed(line.Index, BatchLines.ErrorResponse(job.Id, line.Index, line.CustomId, ex));
                }
            }
        }
        finally
        {
            _lines.Release();
        }
    }

    private async Task<BatchLineOutcome> RunOnceAsync(BatchJob job, ApiCaller caller, BatchInputLine line, CancellationToken cancellationToken)
    {
        var (kind, request, prompt) = Parse(job.Endpoint, line.Body);
        var result = await _completions.CompleteAsync(new CompletionInvocation
        {
            Caller = caller,
            RequestId = BatchLines.RequestId(job.Id, line.Index),
            BatchId = job.Id,
            Kind = kind,
            Request = request,
            Prompt = prompt,
            ResultToStore = done => Encoding.UTF8.GetString(BatchLines.Response(job.Id, line.Index, line.CustomId, 200, done.Body)),
        }, cancellationToken);

        // Settled before (an earlier attempt of this chunk, or a twin attempt): the output stored with the record is
        // the answer, so what the files say and what the ledger billed never differ.
        var settlement = result.Settlement!;
        bool ok = settlement.Outcome is UsageOutcome.Completed or UsageOutcome.Length && result.StoredResult is not null;
        if (!result.AlreadySettled)
        {
            _metrics.CountBatchLine(ok ? LineCompleted : LineFailed);
        }

        if (ok)
        {
            return BatchLineOutcome.Succeeded(line.Index, Encoding.UTF8.GetBytes(result.StoredResult!));
        }

        var error = new ApiException(500, "server_error", "request_interrupted",
            $"The request was interrupted before it completed and was recorded as '{settlement.Outcome}'.");
        return BatchLineOutcome.Failed(line.Index, BatchLines.ErrorResponse(job.Id, line.Index, line.CustomId, error));
    }

    private static (CompletionKind Kind, GenerationRequest Request, PromptText Prompt) Parse(string endpoint, JsonElement body)
    {
        if (endpoint == BatchEndpoints.ChatCompletions)
        {
            var chat = GenerationRequestParser.ParseChat(body);
            RejectStreaming(chat.Options);
            return (CompletionKind.Chat, chat.Options, PromptText.Chat(chat));
        }

        var completion = GenerationRequestParser.ParseCompletion(body);
        RejectStreaming(completion.Options);
        return (CompletionKind.Text, completion.Options, PromptText.Completion(completion));
    }

    private static void RejectStreaming(GenerationRequest request)
    {
        if (request.Stream)
        {
            throw ApiException.InvalidValue("stream", "Batch requests cannot stream: leave 'stream' unset or false.");
        }
    }

    private const string LineCompleted = "completed";
    private const string LineFailed = "failed";

    [LoggerMessage(Level = LogLevel.Warning, Message = "{RequestId}: attempt {Attempt} failed with {Status}; retrying")]
    private static partial void LogRetry(ILogger logger, string requestId, int status, int attempt);
}
