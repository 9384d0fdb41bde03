using Serverless.Core.Metering;

namespace Serverless.Core.Tests.Metering;

/// <summary>A ledger command that holds the writer inside its transaction until released, so the commands behind it share the next one.</summary>
internal sealed class GateCommand : LedgerCommand<bool>, IDisposable
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _release = new();

    public Task Entered => _entered.Task;

    public void Release() => _release.Set();

    public override void Execute(LedgerBatch batch)
    {
        _entered.TrySetResult();
        _release.Wait(TimeSpan.FromSeconds(30));
        Result = true;
    }

    public void Dispose() => _release.Dispose();
}
