using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Billing;

namespace Serverless.Local.Billing;

/// <summary>
/// The local host's exporter and reconciler schedule (the Functions app uses timer triggers instead). Without a
/// Stripe key it does nothing: usage stays pending in the outbox and the service works as before.
/// </summary>
public sealed partial class BillingBackgroundService(
    UsageExporter exporter,
    Reconciler reconciler,
    IOptions<StripeOptions> options,
    TimeProvider time,
    ILogger<BillingBackgroundService> logger) : BackgroundService
{
    private readonly StripeOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            LogDisabled(logger);
            return;
        }

        var nextReconcile = time.GetUtcNow() + _options.ReconcileInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await exporter.RunPassAsync(stoppingToken);
                if (_options.ReconcileInterval > TimeSpan.Zero && time.GetUtcNow() >= nextReconcile)
                {
                    await reconciler.RunAsync(null, null, correct: true, stoppingToken);
                    nextReconcile = time.GetUtcNow() + _options.ReconcileInterval;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex);
            }

            try
            {
                await Task.Delay(_options.ExportInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe:ApiKey is not set: usage is not exported and stays pending in the ledger")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Billing pass failed; retrying at the next interval")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
