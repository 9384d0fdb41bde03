using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Serverless.Core.Dashboard;

/// <summary>
/// The dashboard's static files (Dashboard/wwwroot), embedded in this assembly so the Functions app and the local
/// host serve the same bytes with no file system or CDN involved. Loaded once; each has a content-hash ETag.
/// </summary>
public sealed class DashboardAssets
{
    public const string PageName = "index.html";
    private const string ResourcePrefix = "dashboard/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary();

    private readonly FrozenDictionary<string, DashboardAsset> _assets;

    public DashboardAssets()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            byte[] content = buffer.ToArray();
            string name = resource[ResourcePrefix.Length..];
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 12)) + "\"";
            assets[name] = new DashboardAsset(name, content, ContentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream"), etag);
        }

        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public IEnumerable<string> Names => _assets.Keys;

    public DashboardAsset? Find(string? name) => name is not null && _assets.TryGetValue(name, out var asset) ? asset : null;
}

#pragma warning disable CA1819 // The bytes are shared read-only; a copy per request would buy nothing.
public sealed record DashboardAsset(string Name, byte[] Content, string ContentType, string ETag);
#pragma warning restore CA1819
