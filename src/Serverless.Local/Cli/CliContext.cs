using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Serverless.Core.Billing;
using Serverless.Core.Dashboard;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Models;
using Serverless.Core.Operations;

namespace Serverless.Local.Cli;

/// <summary>
/// What the admin commands work with: the services of the server, built from the same configuration (so a key made
/// here is a key the server accepts). The only place the commands resolve services; <see cref="CliCommands"/> makes it.
/// </summary>
internal sealed class CliContext(IServiceProvider services)
{
    public ApiKeyService Keys => Get<ApiKeyService>();

    public PriceBook Prices => Get<PriceBook>();

    public LimitPolicies Limits => Get<LimitPolicies>();

    public UsageQueries Usage => Get<UsageQueries>();

    public ModelStorageOptions ModelStorage => Get<IOptions<ModelStorageOptions>>().Value;

    /// <summary>Whether the model's manifest is in blob storage.</summary>
    public async Task<bool> IsUploadedAsync(ModelDefinition model, CancellationToken cancellationToken)
    {
        try
        {
            await Get<ModelCache>().FetchManifestAsync(model, cancellationToken);
            return true;
        }
        catch (ModelUnavailableException ex) when (ex.Reason == ModelUnavailableReason.ManifestMissing)
        {
            return false;
        }
    }

    public ModelBlobUploader ModelUploader => Get<ModelBlobUploader>();

    public StripeClientFactory Stripe => Get<StripeClientFactory>();

    /// <summary>Throws the operator's error unless Stripe__ApiKey is set.</summary>
    public void RequireStripe()
    {
        if (!Stripe.Enabled)
        {
            throw new CliException("Stripe__ApiKey is not set, so there is no Stripe account to talk to.");
        }
    }

    public BillingSetup BillingSetup => Get<BillingSetup>();

    public BillingAdmin BillingAdmin => Get<BillingAdmin>();

    public UsageExporter Exporter => Get<UsageExporter>();

    public Reconciler Reconciler => Get<Reconciler>();

    public TimeProvider Time => Get<TimeProvider>();

    public OperatorOverview Overview => Get<OperatorOverview>();

    public Task<ServerlessDbContext> DatabaseAsync(CancellationToken cancellationToken) =>
        Get<IDbContextFactory<ServerlessDbContext>>().CreateDbContextAsync(cancellationToken);

    public DashboardOptions Dashboard => Get<IOptions<DashboardOptions>>().Value;

    public DashboardTokens DashboardTokens => Get<DashboardTokens>();

    private T Get<T>()
        where T : notnull => services.GetRequiredService<T>();
}
