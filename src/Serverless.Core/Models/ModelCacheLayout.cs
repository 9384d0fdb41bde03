using System.Globalization;

namespace Serverless.Core.Models;

/// <summary>
/// Folder layout of the local cache: &lt;root&gt;/&lt;modelId&gt;/&lt;version&gt;/ holds a verified copy, and
/// &lt;root&gt;/&lt;modelId&gt;/.tmp-&lt;pid&gt;-&lt;guid&gt;/ a download in progress. A version folder only ever
/// appears by renaming a fully verified temp folder.
/// </summary>
internal static class ModelCacheLayout
{
    /// <summary>Written last into a version folder; holds the manifest content hash.</summary>
    public const string CompleteMarkerName = ".complete";

    /// <summary>The manifest the folder was verified against, so the copy can be checked without storage.</summary>
    public const string ManifestCopyName = ".model-manifest.json";

    public const string TempPrefix = ".tmp-";

    public static bool IsReservedName(string name) => name is CompleteMarkerName or ManifestCopyName;

    public static string ModelDirectory(string cacheRoot, string modelId) => Path.Combine(Path.GetFullPath(cacheRoot), modelId);

    public static string VersionDirectory(string cacheRoot, string modelId, string version) =>
        Path.Combine(ModelDirectory(cacheRoot, modelId), version);

    public static string NewTempDirectory(string cacheRoot, string modelId) =>
        Path.Combine(
            ModelDirectory(cacheRoot, modelId),
            string.Create(CultureInfo.InvariantCulture, $"{TempPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}"));

    /// <summary>The process id a temp folder was created by, or null when the name is not a temp folder's.</summary>
    public static int? TempDirectoryOwner(string directoryName)
    {
        if (!directoryName.StartsWith(TempPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = directoryName.AsSpan(TempPrefix.Length);
        var dash = rest.IndexOf('-');
        return dash > 0 && int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    /// <summary>Maps a manifest file name to a path inside <paramref name="folder"/>, refusing anything that escapes it.</summary>
    public static string ResolveFilePath(string folder, string name)
    {
        var root = Path.GetFullPath(folder);
        var path = Path.GetFullPath(Path.Combine(root, name.Replace('/', Path.DirectorySeparatorChar)));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"File name '{name}' points outside the model folder.", nameof(name));
        }

        return path;
    }

    public static string BlobName(string prefix, string name) => prefix.Length == 0 ? name : prefix + "/" + name;
}
