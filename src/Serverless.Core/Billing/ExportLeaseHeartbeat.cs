using Microsoft.Extensions.Logging;
using Serverless.Core.Metering;

namespace Serverless.Core.Billing;

/// <summary>
/// Keeps a taken export lease while a pass runs: renews it every third of its duration, and on the first renewal
/// that fails (another holder has it, it expired before the renewal arrived, or the ledger could not be written)
/// cancels <see cref="Lost"/>, after which the pass starts no new Stripe call. Disposing stops the renewals and
/// then releases the lease (only if this holder still has it), so the next exporter can start at once.
/// </summary>
internal sealed partial class ExportLeaseHeartbeat : IAsyncDisposable
{
    private readonly LedgerWriter _ledger;
    private readonly string _name;
    private readonly string _holder;
    private readonly TimeSpan _duration;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private ExportLeaseHeartbeat(LedgerWriter ledger, string name, string holder, TimeSpan duration, TimeProvider time, ILogger logger)
    {
        _ledger = ledger;
        _name = name;
        _holder = holder;
        _duration = duration;
        _time = time;
        _logger = logger;
        _loop = RenewAsync();
    }

    /// <summary>Cancelled once the lease may be held by someone else: start no new call after that.</summary>
    public CancellationToken Lost => _lost.Token;

    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>Takes the lease; null when another holder has it.</summary>
    public static async Task<ExportLeaseHeartbeat?> TakeAsync(LedgerWriter ledger, string name, string holder, TimeSpan duration, TimeProvider time, ILogger logger)
    {
        bool taken = await ledger.SubmitAsync(new ExportLeaseCommand(name, holder, time.GetUtcNow(), duration, ExportLeaseAction.Take));
        return taken ? new ExportLeaseHeartbeat(ledger, name, holder, duration, time, logger) : null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        try
        {
            await _ledger.SubmitAsync(new ExportLeaseCommand(_name, _holder, _time.GetUtcNow(), _duration, ExportLeaseAction.Release));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not released: it expires after its duration instead.
            LogReleaseFailed(_logger, _name, ex);
        }

        _stop.Dispose();
        _lost.Dispose();
    }

    private async Task RenewAsync()
    {
        var every = _duration / 3;
        while (true)
        {
            try
            {
                await Task.Delay(every, _time, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            bool renewed;
            try
            {
                renewed = await _ledger.SubmitAsync(new ExportLeaseCommand(_name, _holder, _time.GetUtcNow(), _duration, ExportLeaseAction.Renew));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRenewalFailed(_logger, _name, ex);
                renewed = false;
            }

            if (!renewed)
            {
                LogLost(_logger, _name, _holder);
                await _lost.CancelAsync();
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Export lease {Lease} lost by {Holder}: this pass starts no new Stripe call")]
    private static partial void LogLost(ILogger logger, string lease, string holder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Export lease {Lease} could not be renewed")]
    private static partial void LogRenewalFailed(ILogger logger, string lease, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Export lease {Lease} could not be released; it expires on its own")]
    private static partial void LogReleaseFailed(ILogger logger, string lease, Exception exception);
}
