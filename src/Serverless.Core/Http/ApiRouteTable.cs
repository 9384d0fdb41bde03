namespace Serverless.Core.Http;

/// <summary>
/// Every route of the service, as the features registered them (<see cref="ApiServiceCollectionExtensions.AddApiRoutes"/>):
/// the local host maps exactly these, the Functions app declares one function per entry, and a test proves the two agree.
/// Built at start, where a name or a method and template used twice stops the host.
/// </summary>
public sealed class ApiRouteTable
{
    public ApiRouteTable(IEnumerable<ApiRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        All = [.. routes];
        var problems = All.GroupBy(r => r.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"the name {g.Key} is used by {g.Count()} routes")
            .Concat(All.GroupBy(r => $"{r.Method} {r.Template}", StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1)
                .Select(g => $"{g.First().Method} {g.First().Pattern} is served by {string.Join(" and ", g.Select(r => r.Name))}"))
            .ToList();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"The route table is inconsistent: {string.Join("; ", problems)}.");
        }
    }

    public IReadOnlyList<ApiRoute> All { get; }
}
