using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Serverless.Core.Models;

public static class ModelStorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ModelStorageOptions"/> (section "ModelStorage", validated at start), a
    /// <see cref="Azure.Storage.Blobs.BlobServiceClient"/> for it (by managed identity when ModelStorage:BlobServiceUri is
    /// set, by connection string otherwise), <see cref="ModelBlobUploader"/> and <see cref="ModelCache"/>.
    /// </summary>
    public static IServiceCollection AddModelStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<ModelStorageOptions>()
            .Bind(configuration.GetSection(ModelStorageOptions.SectionName))
            .ValidateOnStart();
        services.PostConfigure<ModelStorageOptions>(options => options.UseDevelopmentStorageWhenNoEndpointIsSet());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelStorageOptions>, ModelStorageOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => BlobServiceClientFactory.Create(sp.GetRequiredService<IOptions<ModelStorageOptions>>().Value));
        services.TryAddSingleton<ModelBlobUploader>();
        services.TryAddSingleton<ModelCache>();
        return services;
    }
}
