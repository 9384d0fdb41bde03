namespace Serverless.Integration.Tests.Fixtures;

/// <summary>
/// Runs the callback on the reporting thread. Progress&lt;T&gt; posts to the thread pool instead, which
/// makes "cancel once the transfer is under way" and "the last report" nondeterministic.
/// </summary>
public sealed class SynchronousProgress<T>(Action<T> onReport) : IProgress<T>
{
    public void Report(T value) => onReport(value);
}
