namespace Serverless.Core.Http;

/// <summary>Who is calling: the authenticated API key, its customer and the models it may use.</summary>
public sealed record ApiCaller(string KeyId, string CustomerId, IReadOnlyList<string> ModelScope)
{
    /// <summary>An empty scope means every model.</summary>
    public bool CanUse(string model) => ModelScope.Count == 0 || ModelScope.Contains(model, StringComparer.Ordinal);
}
