using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Stripe;

namespace Serverless.Testing.Stripe;

/// <summary>
/// A Stripe stand-in on loopback for the calls the service makes, driven through the real Stripe.net client.
/// Every call must carry <c>Authorization: Bearer</c> with <see cref="ApiKey"/> (the stream: a live meter event
/// session token) and <c>Stripe-Version</c> equal to <see cref="FakeStripeOptions.ApiVersion"/>. POSTs honour
/// <c>Idempotency-Key</c> as Stripe does: a completed success is replayed for the same parameters within 24 h
/// (<c>Idempotent-Replayed: true</c>), other parameters get 400 idempotency_error, a key still executing gets 409;
/// failed and injected-failure answers are not kept, so the key can be retried. The v2 stream is served on its own
/// port (<see cref="MeterEventsBase"/>) like Stripe's meter-events host; all else on <see cref="ApiBase"/>.
/// </summary>
public sealed class FakeStripeServer : IAsyncDisposable
{
    private readonly FakeStripeOptions _options;
    private readonly FakeStripeStore _store;
    private readonly FailurePlan _failures = new();
    private readonly ConcurrentDictionary<StripeEndpoint, int> _calls = new();
    private readonly ConcurrentDictionary<string, bool> _apiKeys = new(StringComparer.Ordinal);
    private readonly List<CallTrace> _callLog = [];
    private readonly CountSignal _reports = new();
    private readonly CountSignal _accepted = new();
    private readonly CountSignal _deliveries = new();
    private readonly ConcurrentQueue<WebhookDelivery> _deliveryLog = new();
    private readonly ConcurrentBag<Task> _webhookTasks = [];
    private readonly ConcurrentBag<HttpClient> _clients = [];
    private readonly HttpClient _webhookClient;
    private WebApplication? _app;
    private int _failuresInjected;
    private int _idempotentReplays;
    private int _concurrencyRejections;
    private int _meterEventsPort = -1;

    private FakeStripeServer(FakeStripeOptions options)
    {
        _options = options;
        _store = new FakeStripeStore(options);
        _apiKeys[options.ApiKey] = true;
        _webhookClient = options.WebhookHandler is { } handler ? new HttpClient(handler, disposeHandler: false) : new HttpClient();
    }

    public FakeStripeOptions Options => _options;

    public string ApiKey => _options.ApiKey;

    public string WebhookSecret => _options.WebhookSecret;

    /// <summary>For <c>StripeClientOptions.ApiBase</c>, e.g. http://127.0.0.1:41234.</summary>
    public string ApiBase { get; private set; } = "";

    /// <summary>For <c>StripeClientOptions.MeterEventsBase</c> (a second port unless <see cref="FakeStripeOptions.SeparateMeterEventsHost"/> is false).</summary>
    public string MeterEventsBase { get; private set; } = "";

    public static async Task<FakeStripeServer> StartAsync(FakeStripeOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new FakeStripeServer(options ?? new FakeStripeOptions());
        try
        {
            await server.StartCoreAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Options pointing Stripe.net at this fake; <paramref name="httpClient"/> null takes Stripe.net's default (80 s timeout, 2 retries).</summary>
    public StripeClientOptions CreateClientOptions(IHttpClient? httpClient = null, string? apiKey = null) => new()
    {
        ApiKey = apiKey ?? ApiKey,
        ApiBase = ApiBase,
        MeterEventsBase = MeterEventsBase,
        HttpClient = httpClient,
    };

    /// <summary>
    /// A real Stripe.net client on this fake. <paramref name="maxNetworkRetries"/> defaults to 0 (the service retries
    /// on its own); <paramref name="apiKey"/> may be a meter event session token for the stream.
    /// </summary>
    public StripeClient CreateClient(TimeSpan? timeout = null, int maxNetworkRetries = 0, string? apiKey = null)
    {
        var http = new HttpClient { Timeout = timeout ?? SystemNetHttpClient.DefaultHttpTimeout };
        _clients.Add(http);
        return new StripeClient(CreateClientOptions(new SystemNetHttpClient(http, maxNetworkRetries), apiKey));
    }

    /// <summary>
    /// Another secret key of the same account, accepted from now on like <see cref="ApiKey"/> (Stripe lets an account
    /// hold several, e.g. while one is rolled). Giving each client its own key lets <see cref="Calls"/> tell them apart.
    /// </summary>
    public string AddApiKey()
    {
        string key = "sk_test_fake" + Guid.NewGuid().ToString("N");
        _apiKeys[key] = true;
        return key;
    }

    /// <summary>Every call that reached the fake, in the order they arrived, the ones still open included.</summary>
    public IReadOnlyList<FakeStripeCall> Calls
    {
        get
        {
            lock (_callLog)
            {
                return _callLog.Select(c => c.Snapshot()).ToList();
            }
        }
    }

    /// <summary>Adds a customer without an API call.</summary>
    public FakeStripeCustomer AddCustomer(string? name = null, string? email = null)
    {
        var customer = new FakeStripeCustomer(StripeEventPayloads.NewId("cus_"), name, email, null, new Dictionary<string, string>(), Now);
        lock (_store.Gate)
        {
            _store.Customers.Add(customer.Id, customer);
        }

        return customer;
    }

    /// <summary>Adds an active meter without an API call (customer key stripe_customer_id, value key value).</summary>
    public FakeStripeMeter AddMeter(string eventName, string formula = "sum", string? displayName = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        var now = Now;
        var meter = new FakeStripeMeter(StripeEventPayloads.NewId("mtr_"), displayName ?? eventName, eventName, formula,
            "stripe_customer_id", "value", Active: true, now, now, DeactivatedAt: null);
        lock (_store.Gate)
        {
            if (_store.ActiveMeter(eventName) is not null)
            {
                throw new InvalidOperationException($"An active meter for {eventName} exists.");
            }

            _store.Meters.Add(meter);
        }

        return meter;
    }

    /// <summary>Makes the next <paramref name="count"/> calls (to <paramref name="endpoint"/>, or any) fail as <paramref name="failure"/>; queued in order.</summary>
    public void FailNext(int count, StripeFailure failure, StripeEndpoint? endpoint = null)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        _failures.Enqueue(count, failure, endpoint);
    }

    public void FailNext(StripeFailure failure, StripeEndpoint? endpoint = null) => FailNext(1, failure, endpoint);

    /// <summary>
    /// Chaos: after any queued failures, each call (to <paramref name="endpoints"/>, or any) fails with
    /// <paramref name="probability"/>, picking one of <paramref name="failures"/>; reproducible from <paramref name="seed"/>.
    /// </summary>
    public void FailRandomly(double probability, int seed, IReadOnlyList<StripeFailure> failures, params StripeEndpoint[] endpoints)
    {
        ArgumentNullException.ThrowIfNull(failures);
        ArgumentOutOfRangeException.ThrowIfLessThan(probability, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(probability, 1);
        if (failures.Count == 0)
        {
            throw new ArgumentException("Give at least one failure.", nameof(failures));
        }

        _failures.SetChaos(probability, seed, failures, endpoints.Length == 0 ? null : endpoints.ToHashSet());
    }

    /// <summary>Drops queued and random failures and releases any pauses.</summary>
    public void StopFailing() => _failures.Clear();

    /// <summary>Holds the next call to <paramref name="endpoint"/> just before it executes, until released.</summary>
    public PausedRequest PauseNext(StripeEndpoint endpoint) => _failures.AddPause(endpoint);

    /// <summary>Expires every meter event session now, as if 15 minutes had passed.</summary>
    public void ExpireMeterEventSessions()
    {
        lock (_store.Gate)
        {
            foreach (var token in _store.Sessions.Keys.ToList())
            {
                _store.Sessions[token] = DateTimeOffset.MinValue;
            }
        }
    }

    /// <summary>Calls that reached the fake for <paramref name="endpoint"/>, whatever the answer (auth failures and injected failures included).</summary>
    public int CallCount(StripeEndpoint endpoint) => _calls.GetValueOrDefault(endpoint);

    public int TotalCalls => _calls.Values.Sum();

    public int FailuresInjected => Volatile.Read(ref _failuresInjected);

    public int IdempotentReplays => Volatile.Read(ref _idempotentReplays);

    /// <summary>v1 meter event calls refused with 429 because another was in flight for the same customer and meter.</summary>
    public int ConcurrencyRejections => Volatile.Read(ref _concurrencyRejections);

    /// <summary>
    /// The most v1 meter event calls that were ever in flight at once for one customer and meter (refused ones
    /// included): above 1 means a client overlapped calls Stripe refuses with 429.
    /// </summary>
    public int PeakInFlightPerCustomerAndMeter => Read(s => s.PeakInFlight.Values.DefaultIfEmpty(0).Max());

    /// <summary>As <see cref="PeakInFlightPerCustomerAndMeter"/>, for one customer and meter event name (0 if it never had a call).</summary>
    public int PeakInFlightFor(string customerId, string eventName) => Read(s => s.PeakInFlight.GetValueOrDefault((customerId, eventName)));

    /// <summary>Meter events refused (v1) or dropped (v2 stream) because their identifier was already accepted within 24 h.</summary>
    public int DuplicatesRejected
    {
        get
        {
            lock (_store.Gate)
            {
                return _store.DuplicatesRejected;
            }
        }
    }

    public IReadOnlyList<FakeStripeCustomer> Customers => Read(s => s.Customers.Values.ToList());

    public IReadOnlyList<FakeStripeMeter> Meters => Read(s => s.Meters.ToList());

    /// <summary>Every accepted meter event in order, cancelled ones included (see <see cref="AcceptedMeterEvent.Cancelled"/>).</summary>
    public IReadOnlyList<AcceptedMeterEvent> AcceptedEvents => Read(s => s.Events.ToList());

    public AcceptedMeterEvent? FindEvent(string identifier) => Read(s => s.FindEvent(identifier));

    /// <summary>The sum of the values of a customer's live (not cancelled) events for <paramref name="eventName"/>.</summary>
    public long TotalFor(string customerId, string eventName) =>
        Read(s => s.Events.Where(e => !e.Cancelled && e.CustomerId == customerId && e.EventName == eventName).Sum(e => e.Value));

    /// <summary>What Stripe's summary for [start, end) would say, aggregated by the active meter's formula.</summary>
    public decimal SummaryFor(string customerId, string eventName, DateTimeOffset start, DateTimeOffset end) =>
        Read(s => s.ActiveMeter(eventName) is { } meter ? s.Aggregate(meter, customerId, start, end) : 0m);

    public IReadOnlyList<MeterErrorReport> ErrorReports => Read(s => s.ErrorReports.ToList());

    public IReadOnlyList<WebhookDelivery> WebhookDeliveries => _deliveryLog.ToList();

    /// <summary>Completes once <paramref name="count"/> meter events have been accepted in all (v1 and stream).</summary>
    public Task WaitForAcceptedEventsAsync(int count, CancellationToken cancellationToken = default) =>
        _accepted.WaitAsync(count, cancellationToken);

    public Task WaitForErrorReportsAsync(int count, CancellationToken cancellationToken = default) =>
        _reports.WaitAsync(count, cancellationToken);

    public Task WaitForWebhookDeliveriesAsync(int count, CancellationToken cancellationToken = default) =>
        _deliveries.WaitAsync(count, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _failures.Clear();
        if (_app is not null)
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(stopping.Token);
            await _app.DisposeAsync();
        }

        await Task.WhenAll(_webhookTasks);
        _webhookClient.Dispose();
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }

    private DateTimeOffset Now => _options.TimeProvider.GetUtcNow();

    private T Read<T>(Func<FakeStripeStore, T> read)
    {
        lock (_store.Gate)
        {
            return read(_store);
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        ListenOptions? api = null;
        ListenOptions? meterEvents = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => api = listen);
            if (_options.SeparateMeterEventsHost)
            {
                kestrel.Listen(IPAddress.Loopback, 0, listen => meterEvents = listen);
            }
        });
        _app = builder.Build();
        _app.Run(HandleAsync);
        await _app.StartAsync(cancellationToken);

        // Kestrel writes the bound port back into each ListenOptions once it listens.
        ApiBase = "http://127.0.0.1:" + api!.IPEndPoint!.Port;
        MeterEventsBase = meterEvents is null ? ApiBase : "http://127.0.0.1:" + meterEvents.IPEndPoint!.Port;
        _meterEventsPort = meterEvents?.IPEndPoint!.Port ?? -1;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "/";
        var route = FakeStripeRoute.Match(http.Request.Method, path);
        _calls.AddOrUpdate(route?.Endpoint ?? StripeEndpoint.Unknown, 1, (_, n) => n + 1);
        var trace = new CallTrace(route?.Endpoint ?? StripeEndpoint.Unknown, Now);
        lock (_callLog)
        {
            _callLog.Add(trace);
        }

        int? status = null;
        try
        {
            FakeStripeResponse? response;
            try
            {
                response = await ProcessAsync(http, route, path, trace);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            if (response is not null)
            {
                await WriteAsync(http, response);
                status = response.Status;
            }
        }
        finally
        {
            lock (_callLog)
            {
                trace.End(Now, status);
            }
        }
    }

    private async Task WriteAsync(HttpContext http, FakeStripeResponse response)
    {
        http.Response.StatusCode = response.Status;
        http.Response.ContentType = "application/json";
        http.Response.Headers["Request-Id"] = StripeEventPayloads.NewId("req_");
        http.Response.Headers["Stripe-Version"] = _options.ApiVersion;
        if (http.Request.Headers["Idempotency-Key"] is { Count: > 0 } key)
        {
            http.Response.Headers["Idempotency-Key"] = key;
        }

        foreach (var (name, value) in response.Headers)
        {
            http.Response.Headers[name] = value;
        }

        await http.Response.WriteAsync(response.Body, Encoding.UTF8, http.RequestAborted);
    }

    /// <summary>The Stripe pipeline for one call; null when the connection is dropped instead of answered.</summary>
    private async Task<FakeStripeResponse?> ProcessAsync(HttpContext http, FakeStripeRoute? route, string path, CallTrace trace)
    {
        var onMeterEventsHost = http.Connection.LocalPort == _meterEventsPort;
        if (route is null || (_options.SeparateMeterEventsHost && route.OnMeterEventsHost != onMeterEventsHost))
        {
            return StripeErrors.UnrecognizedUrl(http.Request.Method, path);
        }

        var principal = Bearer(http.Request.Headers.Authorization.ToString());
        if (Authenticate(route, principal) is { } authFailure)
        {
            return authFailure;
        }

        string apiKey = AccountKey(principal!);
        lock (_callLog)
        {
            trace.ApiKey = apiKey;
        }

        var version = http.Request.Headers["Stripe-Version"].ToString();
        if (version != _options.ApiVersion)
        {
            return version.Length == 0
                ? Error(route, 400, $"This fake requires the Stripe-Version header ({_options.ApiVersion}).")
                : Error(route, 400, $"Invalid Stripe API version: {version}");
        }

        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted);

        var failure = _failures.Next(route.Endpoint);
        if (failure is { Kind: StripeFailureKind.RateLimited })
        {
            Interlocked.Increment(ref _failuresInjected);
            return StripeErrors.RateLimited(route.IsV2,
                "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.", failure.Delay);
        }

        if (failure is { Kind: StripeFailureKind.ServerError })
        {
            Interlocked.Increment(ref _failuresInjected);
            return StripeErrors.ServerError(route.IsV2);
        }

        var post = HttpMethods.IsPost(http.Request.Method);
        var parameters = StripeForm.Parse(post && !route.IsV2 ? body : http.Request.QueryString.Value ?? "");
        JsonNode? json = null;
        if (post && route.IsV2)
        {
            try
            {
                json = body.Length == 0 ? new JsonObject() : JsonNode.Parse(body);
            }
            catch (JsonException)
            {
                return StripeErrors.V2(400, StripeErrors.InvalidRequest, "The request body is not valid JSON.", "invalid_request");
            }
        }

        var idempotencyKey = post ? http.Request.Headers["Idempotency-Key"].ToString() : "";
        var fingerprint = http.Request.Method + " " + path + "\n" + body;
        if (idempotencyKey.Length > 0 && BeginIdempotent(route, principal!, idempotencyKey, fingerprint) is { } earlier)
        {
            return earlier;
        }

        FakeStripeResponse response;
        var newReports = new List<MeterErrorReport>();
        try
        {
            response = await ExecuteAsync(http, route, parameters, json, failure, newReports, apiKey, trace);
        }
        catch
        {
            EndIdempotent(principal!, idempotencyKey, null);
            throw;
        }

        EndIdempotent(principal!, idempotencyKey, response);
        foreach (var report in newReports)
        {
            _reports.Add();
            SendWebhook(report);
        }

        if (failure is { Kind: StripeFailureKind.TimeoutAfterAccept })
        {
            Interlocked.Increment(ref _failuresInjected);
            try
            {
                await Task.Delay(failure.Delay, http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The client gave up waiting: exactly the case being simulated.
            }

            http.Abort();
            return null;
        }

        if (failure is { Kind: StripeFailureKind.AbortAfterAccept })
        {
            Interlocked.Increment(ref _failuresInjected);
            http.Abort();
            return null;
        }

        return response;
    }

    private async Task<FakeStripeResponse> ExecuteAsync(
        HttpContext http, FakeStripeRoute route, StripeForm parameters, JsonNode? json, StripeFailure? failure, List<MeterErrorReport> newReports,
        string apiKey, CallTrace trace)
    {
        (string, string)? slot = null;
        if (route.Endpoint == StripeEndpoint.MeterEvents)
        {
            lock (_store.Gate)
            {
                slot = MeterEventHandlers.ConcurrencySlot(_store, parameters);
                if (slot is { } arrived)
                {
                    _store.Arrive(arrived);
                }

                if (slot is { } taken && !_store.TryTakeSlot(taken))
                {
                    _store.Depart(taken);
                    Interlocked.Increment(ref _concurrencyRejections);
                    return StripeErrors.RateLimited(v2: false,
                        "Too many concurrent requests for this customer and meter: send one meter event at a time per customer and meter.",
                        TimeSpan.FromSeconds(1));
                }
            }
        }

        try
        {
            if (failure is { Kind: StripeFailureKind.Slow })
            {
                Interlocked.Increment(ref _failuresInjected);
                await Task.Delay(failure.Delay, http.RequestAborted);
            }

            if (_failures.TakePause(route.Endpoint) is { } pause)
            {
                await pause.WaitAsync(http.RequestAborted);
            }

            lock (_store.Gate)
            {
                var reportsBefore = _store.ErrorReports.Count;
                var eventsBefore = _store.Events.Count;
                var request = new FakeStripeRequest(route.Endpoint, http.Request.Method, route.Segments, parameters, json, Now, apiKey);
                var response = route.Handler(_store, request);
                newReports.AddRange(_store.ErrorReports.Skip(reportsBefore));
                var accepted = _store.Events.Skip(eventsBefore).Select(e => e.Identifier).ToList();
                lock (_callLog)
                {
                    trace.Accepted.AddRange(accepted);
                }

                _accepted.Add(accepted.Count);
                return response;
            }
        }
        finally
        {
            if (slot is { } held)
            {
                lock (_store.Gate)
                {
                    _store.ReleaseSlot(held);
                    _store.Depart(held);
                }
            }
        }
    }

    private FakeStripeResponse? Authenticate(FakeStripeRoute route, string? principal)
    {
        if (principal is null)
        {
            return Error(route, 401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
        }

        if (route.Endpoint != StripeEndpoint.MeterEventStream)
        {
            return _apiKeys.ContainsKey(principal) ? null : Error(route, 401, $"Invalid API Key provided: {Mask(principal)}");
        }

        lock (_store.Gate)
        {
            if (!_store.Sessions.TryGetValue(principal, out var expiresAt))
            {
                return StripeErrors.V2(401, StripeErrors.InvalidRequest,
                    $"Invalid meter event session token provided: {Mask(principal)}. Create one with POST /v2/billing/meter_event_session.");
            }

            return Now >= expiresAt
                ? StripeErrors.V2(401, "temporary_session_expired",
                    "The meter event session has expired. Create a new session to continue sending meter events.",
                    "billing_meter_event_session_expired")
                : null;
        }
    }

    /// <summary>The secret key behind an authenticated principal: itself, or for a session token the key that opened the session.</summary>
    private string AccountKey(string principal)
    {
        lock (_store.Gate)
        {
            return _store.SessionKeys.GetValueOrDefault(principal, principal);
        }
    }

    private FakeStripeResponse? BeginIdempotent(FakeStripeRoute route, string principal, string key, string fingerprint)
    {
        var now = Now;
        lock (_store.Gate)
        {
            if (_store.Idempotency.TryGetValue((principal, key), out var record) && now - record.Created < _options.IdempotencyWindow)
            {
                if (record.Fingerprint != fingerprint)
                {
                    return IdempotencyError(route, 400,
                        $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request.");
                }

                if (record.Response is null)
                {
                    return IdempotencyError(route, 409,
                        $"There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): {key}. Please try again later.");
                }

                Interlocked.Increment(ref _idempotentReplays);
                return record.Response.WithHeader("Idempotent-Replayed", "true");
            }

            _store.Idempotency[(principal, key)] = new IdempotencyRecord(fingerprint, now);
            return null;
        }
    }

    /// <summary>Keeps a success for replay; forgets anything else, as Stripe keeps no result for a request that did not execute.</summary>
    private void EndIdempotent(string principal, string key, FakeStripeResponse? response)
    {
        if (key.Length == 0)
        {
            return;
        }

        lock (_store.Gate)
        {
            if (response is { Succeeded: true } && _store.Idempotency.TryGetValue((principal, key), out var record))
            {
                record.Response = response;
            }
            else
            {
                _store.Idempotency.Remove((principal, key));
            }
        }
    }

    private void SendWebhook(MeterErrorReport report)
    {
        if (_options.WebhookEndpoint is not { } endpoint)
        {
            return;
        }

        _webhookTasks.Add(Task.Run(async () =>
        {
            var payload = StripeEventPayloads.ThinEvent(report);
            try
            {
                using var request = StripeWebhook.CreateRequest(endpoint, payload, _options.WebhookSecret, Now);
                using var response = await _webhookClient.SendAsync(request);
                _deliveryLog.Enqueue(new WebhookDelivery(report.EventId, report.EventType, (int)response.StatusCode, null));
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                _deliveryLog.Enqueue(new WebhookDelivery(report.EventId, report.EventType, null, e.Message));
            }
            finally
            {
                _deliveries.Add();
            }
        }));
    }

    private static FakeStripeResponse Error(FakeStripeRoute route, int status, string message) => route.IsV2
        ? StripeErrors.V2(status, StripeErrors.InvalidRequest, message)
        : StripeErrors.V1(status, StripeErrors.InvalidRequest, message);

    private static FakeStripeResponse IdempotencyError(FakeStripeRoute route, int status, string message) => route.IsV2
        ? StripeErrors.V2(status, "idempotency_error", message)
        : StripeErrors.V1(status, "idempotency_error", message);

    private static string? Bearer(string authorization) =>
        AuthenticationHeaderValue.TryParse(authorization, out var value)
        && string.Equals(value.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
        && value.Parameter is { Length: > 0 } token
            ? token
            : null;

    private static string Mask(string key) =>
        key.Length <= 12 ? new string('*', key.Length) : key[..8] + new string('*', key.Length - 12) + key[^4..];

    /// <summary>What <see cref="Calls"/> reports of one call, filled in as it goes; guarded by the call log's lock.</summary>
    private sealed class CallTrace(StripeEndpoint endpoint, DateTimeOffset started)
    {
        public string? ApiKey { get; set; }

        public List<string> Accepted { get; } = [];

        private DateTimeOffset? _ended;
        private int? _status;

        public void End(DateTimeOffset ended, int? status)
        {
            _ended = ended;
            _status = status;
        }

        public FakeStripeCall Snapshot() => new(endpoint, ApiKey, started, _ended, _status, [.. Accepted]);
    }
}
