namespace Serverless.Testing.Stripe;

/// <summary>Which calls fail and how: queued one-offs first (in order), then the random chaos setting.</summary>
internal sealed class FailurePlan
{
    private readonly Lock _gate = new();
    private readonly List<Planned> _queued = [];
    private readonly List<PausedRequest> _pauses = [];
    private Chaos? _chaos;

    public void Enqueue(int count, StripeFailure failure, StripeEndpoint? endpoint)
    {
        lock (_gate)
        {
            _queued.Add(new Planned(failure, endpoint) { Remaining = count });
        }
    }

    public void SetChaos(double probability, int seed, IReadOnlyList<StripeFailure> failures, IReadOnlySet<StripeEndpoint>? endpoints)
    {
        lock (_gate)
        {
            _chaos = new Chaos(probability, new Random(seed), failures, endpoints);
        }
    }

    public PausedRequest AddPause(StripeEndpoint endpoint)
    {
        var pause = new PausedRequest(endpoint);
        lock (_gate)
        {
            _pauses.Add(pause);
        }

        return pause;
    }

    public void Clear()
    {
        lock (_gate)
        {
            _queued.Clear();
            _chaos = null;
            foreach (var pause in _pauses)
            {
                pause.Release();
            }

            _pauses.Clear();
        }
    }

    public StripeFailure? Next(StripeEndpoint endpoint)
    {
        lock (_gate)
        {
            var planned = _queued.Find(p => p.Endpoint is null || p.Endpoint == endpoint);
            if (planned is not null)
            {
                if (--planned.Remaining <= 0)
                {
                    _queued.Remove(planned);
                }

                return planned.Failure;
            }

            if (_chaos is { } chaos && (chaos.Endpoints is null || chaos.Endpoints.Contains(endpoint))
                && chaos.Random.NextDouble() < chaos.Probability)
            {
                return chaos.Failures[chaos.Random.Next(chaos.Failures.Count)];
            }

            return null;
        }
    }

    public PausedRequest? TakePause(StripeEndpoint endpoint)
    {
        lock (_gate)
        {
            var pause = _pauses.Find(p => p.Endpoint == endpoint);
            if (pause is not null)
            {
                _pauses.Remove(pause);
            }

            return pause;
        }
    }

    private sealed record Planned(StripeFailure Failure, StripeEndpoint? Endpoint)
    {
        public int Remaining { get; set; }
    }

    private sealed record Chaos(double Probability, Random Random, IReadOnlyList<StripeFailure> Failures, IReadOnlySet<StripeEndpoint>? Endpoints);
}
