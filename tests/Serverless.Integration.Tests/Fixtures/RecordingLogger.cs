using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Serverless.Integration.Tests.Fixtures;

public sealed record LogEntry(LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>Keeps every log entry so a test can assert what was logged.</summary>
public sealed class RecordingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        Entries.Enqueue(new LogEntry(logLevel, eventId, formatter(state, exception), exception));
    }
}
