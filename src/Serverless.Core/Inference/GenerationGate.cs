using System.Globalization;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Inference;

/// <summary>
/// Bounds generations per instance and shares them fairly: a fixed number run, a bounded number wait, the rest get 429
/// at once. Within that, one customer (and one key) runs at most its cap and queues at most its share of the queue, so
/// a flood from one customer is refused as that customer's (<c>concurrency_limit_exceeded</c>) instead of filling the
/// instance (<c>server_overloaded</c>) for everyone. A freed slot goes to the waiting customer running the fewest
/// generations, between equals the one served longest ago (round robin); within a customer, live requests before batch
/// lines, each in arrival order (skipping a key at its own cap).
/// </summary>
/// <remarks>
/// One lock guards the counts and queues; it is taken once to enter and once to leave, never per token. A request that
/// finds a slot it may use takes it without queueing. A queued request leaves the queue when it is granted a slot, its
/// client goes away or it times out, whichever comes first under the lock, so a slot or a queue place never leaks.
/// </remarks>
public sealed class GenerationGate : IGenerationCapacity
{
    private readonly Lock _lock = new();
    private readonly InferenceOptions _options;
    private readonly TimeProvider _time;
    private readonly int _customerCap;
    private readonly int _keyCap;
    private readonly int _customerQueueCap;
    private readonly Dictionary<string, Customer> _customers = new(StringComparer.Ordinal);

    // Customers with waiters.
    private readonly LinkedList<Customer> _waitingCustomers = new();
    private long _grants;
    private int _running;
    private int _waiting;
    private int _backgroundWaiting;

    public GenerationGate(IOptions<InferenceOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _options = options.Value;
        _time = time;
        _customerCap = _options.CustomerConcurrencyCap;
        _keyCap = _options.KeyConcurrencyCap;
        _customerQueueCap = _options.CustomerQueueCap;
    }

    /// <summary>Generations holding a slot.</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>Live requests waiting for a slot.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting;
            }
        }
    }

    /// <summary>Batch lines waiting for a slot.</summary>
    public int BackgroundWaiting
    {
        get
        {
            lock (_lock)
            {
                return _backgroundWaiting;
            }
        }
    }

    /// <summary>Slots in use and waiters now, read under one lock (for the gauges).</summary>
    public GenerationCapacity Capacity
    {
        get
        {
            lock (_lock)
            {
                return new GenerationCapacity(_running, _options.MaxConcurrentGenerations, _waiting, _backgroundWaiting);
            }
        }
    }

    /// <summary>Generations the customer runs now (0 for one the gate does not know).</summary>
    public int RunningFor(string customerId)
    {
        lock (_lock)
        {
            return _customers.TryGetValue(customerId, out var customer) ? customer.Running : 0;
        }
    }

    /// <summary>Live requests of the customer waiting for a slot.</summary>
    public int WaitingFor(string customerId)
    {
        lock (_lock)
        {
            return _customers.TryGetValue(customerId, out var customer) ? customer.LiveQueue.Count : 0;
        }
    }

    /// <summary>
    /// A slot for a live request: at once when one is free and the caller is within its caps, else in the fair queue
    /// up to Inference:QueueTimeout. 429 <c>concurrency_limit_exceeded</c> when the caller's own share is used up (its
    /// customer's queue is full, or it timed out while its own cap held it back), 429 <c>server_overloaded</c> when
    /// the instance's queue is full or the instance stayed full.
    /// </summary>
    public ValueTask<Slot> EnterAsync(ApiCaller caller, CancellationToken cancellationToken) =>
        EnterAsync(caller, background: false, cancellationToken);

    /// <summary>
    /// A slot for background work (batch lines): waits in the same fair queue, after the customer's own live requests,
    /// as long as it takes; never counts against the live queue and never answers 429. It counts against its
    /// customer's and key's running caps like a live request. Its callers bound how many of them wait.
    /// </summary>
    public ValueTask<Slot> EnterBackgroundAsync(ApiCaller caller, CancellationToken cancellationToken) =>
        EnterAsync(caller, background: true, cancellationToken);

    private async ValueTask<Slot> EnterAsync(ApiCaller caller, bool background, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_lock)
        {
            var customer = CustomerOf(caller.CustomerId);
            if (TryRunLocked(customer, caller.KeyId))
            {
                return new Slot(this, customer, caller.KeyId);
            }

            if (!background && (customer.LiveQueue.Count >= _customerQueueCap || _waiting >= _options.MaxQueuedRequests))
            {
                // The caller's own share (its running cap, or its customer's part of the queue) is used up: its 429;
                // else the instance's queue is full: everyone's.
                bool own = !MayRun(customer, caller.KeyId) || (customer.LiveQueue.Count > 0 && customer.LiveQueue.Count >= _customerQueueCap);
                Forget(customer);
                throw own
                    ? ConcurrencyLimitExceeded(ScopeHeldBack(customer, caller.KeyId), waiting: true)
                    : ApiException.Overloaded(_options.RetryAfterSeconds);
            }

            waiter = new Waiter(this, customer, caller.KeyId, background);
            EnqueueLocked(waiter);
        }

        return await waiter.WaitAsync(background ? Timeout.InfiniteTimeSpan : _options.QueueTimeout, cancellationToken);
    }

    private ApiException ConcurrencyLimitExceeded(string scope, bool waiting) =>
        new(Microsoft.AspNetCore.Http.StatusCodes.Status429TooManyRequests, "requests", "concurrency_limit_exceeded",
            waiting
                ? string.Create(CultureInfo.InvariantCulture, $"Too many concurrent requests for this {scope}: {(scope == "key" ? _keyCap : _customerCap)} may run and {_customerQueueCap} may wait at once on this instance. Retry after the delay given in the Retry-After header.")
                : string.Create(CultureInfo.InvariantCulture, $"Too many concurrent requests for this {scope}: {(scope == "key" ? _keyCap : _customerCap)} may run at once on this instance and the request waited {_options.QueueTimeout.TotalSeconds:0.###} s for one of them. Retry after the delay given in the Retry-After header."))
        { RetryAfterSeconds = _options.RetryAfterSeconds };

    private Customer CustomerOf(string customerId)
    {
        if (!_customers.TryGetValue(customerId, out var customer))
        {
            customer = new Customer(customerId);
            _customers.Add(customerId, customer);
        }

        return customer;
    }

    private bool KeyAtCap(Customer customer, string keyId) =>
        customer.RunningByKey.TryGetValue(keyId, out int running) && running >= _keyCap;

    // Names the key only when its own cap, not its customer's, is what holds the caller back.
    private string ScopeHeldBack(Customer customer, string keyId) =>
        customer.Running < _customerCap && KeyAtCap(customer, keyId) ? "key" : "customer";

    private bool MayRun(Customer customer, string keyId) =>
        customer.Running < _customerCap && !KeyAtCap(customer, keyId);

    // Runs the caller now if a slot is free and its caps allow. Every grantable waiter is granted as soon as it becomes
    // grantable, so a free slot here means no waiter could use it: taking it jumps nobody.
    private bool TryRunLocked(Customer customer, string keyId)
    {
        if (_running >= _options.MaxConcurrentGenerations || !MayRun(customer, keyId))
        {
            return false;
        }

        CountRunLocked(customer, keyId);
        return true;
    }

    private void CountRunLocked(Customer customer, string keyId)
    {
        _running++;
        customer.Running++;
        customer.LastGrant = ++_grants;
        customer.RunningByKey[keyId] = customer.RunningByKey.GetValueOrDefault(keyId) + 1;
    }

    private void EnqueueLocked(Waiter waiter)
    {
        var customer = waiter.Customer;
        (waiter.Background ? customer.BackgroundQueue : customer.LiveQueue).AddLast(waiter.Node);
        if (waiter.Background)
        {
            _backgroundWaiting++;
        }
        else
        {
            _waiting++;
        }

        if (customer.WaitingNode.List is null)
        {
            _waitingCustomers.AddLast(customer.WaitingNode);
        }
    }

    private void DequeueLocked(Waiter waiter)
    {
        var customer = waiter.Customer;
        waiter.Node.List!.Remove(waiter.Node);
        if (waiter.Background)
        {
            _backgroundWaiting--;
        }
        else
        {
            _waiting--;
        }

        if (customer.LiveQueue.Count == 0 && customer.BackgroundQueue.Count == 0)
        {
            _waitingCustomers.Remove(customer.WaitingNode);
        }
    }

    // Drops a customer the gate no longer needs to remember (nothing running, nothing waiting).
    private void Forget(Customer customer)
    {
        if (customer.Running == 0 && customer.WaitingNode.List is null)
        {
            _customers.Remove(customer.Id);
        }
    }

    /// <summary>The next waiter to run, already counted as running and out of the queue; null when none may run.</summary>
    private Waiter? TakeNextLocked()
    {
        if (_running >= _options.MaxConcurrentGenerations)
        {
            return null;
        }

        Waiter? best = null;
        for (var node = _waitingCustomers.First; node is not null; node = node.Next)
        {
            var customer = node.Value;
            if (customer.Running >= _customerCap || (best is not null && !Before(customer, best.Customer)))
            {
                continue;
            }

            var candidate = FirstAllowed(customer, customer.LiveQueue) ?? FirstAllowed(customer, customer.BackgroundQueue);
            if (candidate is not null)
            {
                best = candidate;
            }
        }

        if (best is null)
        {
            return null;
        }

        DequeueLocked(best);
        CountRunLocked(best.Customer, best.KeyId);
        return best;
    }

    // Fewer generations running first; between equals, the one whose last slot was granted longest ago (round robin).
    private static bool Before(Customer a, Customer b) =>
        a.Running < b.Running || (a.Running == b.Running && a.LastGrant < b.LastGrant);

    private Waiter? FirstAllowed(Customer customer, LinkedList<Waiter> queue)
    {
        for (var node = queue.First; node is not null; node = node.Next)
        {
            if (!KeyAtCap(customer, node.Value.KeyId))
            {
                return node.Value;
            }
        }

        return null;
    }

    private void Leave(Customer customer, string keyId)
    {
        lock (_lock)
        {
            _running--;
            customer.Running--;
            int byKey = customer.RunningByKey[keyId] - 1;
            if (byKey == 0)
            {
                customer.RunningByKey.Remove(keyId);
            }
            else
            {
                customer.RunningByKey[keyId] = byKey;
            }

            Forget(customer);
        }

        GrantWaiting();
    }

    private void GrantWaiting()
    {
        while (true)
        {
            Waiter? next;
            lock (_lock)
            {
                next = TakeNextLocked();
            }

            if (next is null)
            {
                return;
            }

            next.Grant();
        }
    }

    /// <summary>A held generation slot; disposing it (once, however often it is called) lets the next request in.</summary>
    public sealed class Slot : IDisposable
    {
        private readonly GenerationGate _gate;
        private readonly Customer _customer;
        private readonly string _keyId;
        private int _released;

        internal Slot(GenerationGate gate, Customer customer, string keyId)
        {
            _gate = gate;
            _customer = customer;
            _keyId = keyId;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                _gate.Leave(_customer, _keyId);
            }
        }
    }

    internal sealed class Customer
    {
        public Customer(string id)
        {
            Id = id;
            WaitingNode = new LinkedListNode<Customer>(this);
        }

        public string Id { get; }

        public int Running { get; set; }

        /// <summary>When the customer last got a slot (the gate's grant count then); 0 if never.</summary>
        public long LastGrant { get; set; }

        public Dictionary<string, int> RunningByKey { get; } = new(StringComparer.Ordinal);

        public LinkedList<Waiter> LiveQueue { get; } = new();

        public LinkedList<Waiter> BackgroundQueue { get; } = new();

        public LinkedListNode<Customer> WaitingNode { get; }
    }

    internal sealed class Waiter
    {
        private readonly GenerationGate _gate;
        private readonly TaskCompletionSource _granted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ITimer? _timer;
        private CancellationTokenRegistration _cancellation;

        public Waiter(GenerationGate gate, Customer customer, string keyId, bool background)
        {
            _gate = gate;
            Customer = customer;
            KeyId = keyId;
            Background = background;
            Node = new LinkedListNode<Waiter>(this);
        }

        public Customer Customer { get; }

        public string KeyId { get; }

        public bool Background { get; }

        public LinkedListNode<Waiter> Node { get; }

        public async ValueTask<Slot> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            // Registered after the waiter is queued: a token cancelled or a timer due meanwhile fires at once.
            _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).GiveUp(token), this);
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                _timer = _gate._time.CreateTimer(static state => ((Waiter)state!).GiveUp(null), this, timeout, Timeout.InfiniteTimeSpan);
            }

            try
            {
                await _granted.Task.ConfigureAwait(false);
            }
            finally
            {
                _cancellation.Unregister();
                _timer?.Dispose();
            }

            return new Slot(_gate, Customer, KeyId);
        }

        public void Grant() => _granted.TrySetResult();

        // Leaves the queue if still in it (a grant that came first wins: the slot is the caller's and is released by it).
        private void GiveUp(CancellationToken? cancelled)
        {
            ApiException? refusal = null;
            lock (_gate._lock)
            {
                if (Node.List is null)
                {
                    return;
                }

                _gate.DequeueLocked(this);
                if (cancelled is null)
                {
                    // Timed out: the caller's own cap held it back, or the instance stayed full.
                    refusal = _gate.MayRun(Customer, KeyId)
                        ? ApiException.Overloaded(_gate._options.RetryAfterSeconds)
                        : _gate.ConcurrencyLimitExceeded(_gate.ScopeHeldBack(Customer, KeyId), waiting: false);
                }

                _gate.Forget(Customer);
            }

            if (refusal is null)
            {
                _granted.TrySetCanceled(cancelled!.Value);
            }
            else
            {
                _granted.TrySetException(refusal);
            }
        }
    }
}
