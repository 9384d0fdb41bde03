using System.Net.Http.Headers;

namespace Serverless.Benchmarks;

/// <summary>
/// Scrapes GET /metrics once a second with the admin key as bearer token, as Prometheus would, until disposed; counts
/// the good scrapes and keeps the last body's size and whether it had the GenAI histograms.
/// </summary>
internal sealed class MetricsScraper : IDisposable
{
    /// <summary>A series the service exports once it has answered a completion (OpenTelemetry's Prometheus names).</summary>
    public const string ExpectedSeries = "gen_ai_server_time_to_first_token_seconds";

    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _scrapes;
    private long _failures;
    private long _lastBytes;
    private int _sawExpected;

    public MetricsScraper(Uri baseAddress, string adminKey, TimeSpan interval)
    {
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        _loop = Task.Run(() => LoopAsync(interval, _stop.Token));
    }

    public long Scrapes => Interlocked.Read(ref _scrapes);

    /// <summary>Scrapes that did not answer 200; should stay 0.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    public long LastBytes => Interlocked.Read(ref _lastBytes);

    /// <summary>Whether a scrape carried <see cref="ExpectedSeries"/>: the metrics of the timed requests are really exported.</summary>
    public bool SawCompletionMetrics => Volatile.Read(ref _sawExpected) == 1;

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // Cancelled mid-scrape.
        }

        _stop.Dispose();
        _http.Dispose();
    }

    private async Task LoopAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                try
                {
                    using var response = await _http.GetAsync(new Uri("metrics", UriKind.Relative), cancellationToken);
                    string body = await response.Content.ReadAsStringAsync(cancellationToken);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref _failures);
                        continue;
                    }

                    Interlocked.Increment(ref _scrapes);
                    Interlocked.Exchange(ref _lastBytes, body.Length);
                    if (body.Contains(ExpectedSeries, StringComparison.Ordinal))
                    {
                        Volatile.Write(ref _sawExpected, 1);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref _failures);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
    }
}
