using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;

namespace Serverless.Core.Keys;

public static class KeysServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ApiKeyService"/> and <see cref="AdminAuthenticator"/> with their options
    /// (sections "Keys" and "Admin", validated at start). Needs <c>AddDatabase</c> as well.
    /// </summary>
    public static IServiceCollection AddApiKeys(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<KeyOptions>()
            .Bind(configuration.GetSection(KeyOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyOptions>, KeyOptionsValidator>();

        services.AddOptions<AdminKeyOptions>()
            .Bind(configuration.GetSection(AdminKeyOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdminKeyOptions>, AdminKeyOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ApiKeyService>();
        services.AddSingleton<AdminAuthenticator>();
        services.AddSingleton<IApiAuthenticator, ApiKeyAuthenticator>();
        services.AddApiRoutes(AdminCreateKeyHandler.Route, AdminListKeysHandler.Route, AdminRevokeKeyHandler.Route);
        return services;
    }
}
