using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Http;

namespace Serverless.Core.Files;

public static class FilesServiceCollectionExtensions
{
    /// <summary>The Files API (section "Files"): the store (blob content, database records) and its routes. Needs AddModels for the blob client.</summary>
    public static IServiceCollection AddFiles(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FilesOptions>()
            .Bind(configuration.GetSection(FilesOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<FileStore>();
        services.AddSingleton<FileUploads>();
        services.AddSingleton<FileSweeper>();
        services.AddApiRoutes(
            UploadFileHandler.Route, ListFilesHandler.Route, GetFileHandler.Route, GetFileContentHandler.Route,
            DeleteFileHandler.Route);
        return services;
    }

    /// <summary>The expired-file sweep on a schedule inside the process (the local host; Functions uses a timer).</summary>
    public static IServiceCollection AddFileSweeperBackgroundService(this IServiceCollection services)
    {
        services.AddHostedService<FileSweeperBackgroundService>();
        return services;
    }
}
