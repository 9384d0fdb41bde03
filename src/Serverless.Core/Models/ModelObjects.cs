namespace Serverless.Core.Models;

/// <summary>OpenAI's model object.</summary>
public sealed record ModelObject(string Id, long Created, string OwnedBy)
{
    public string Object => "model";
}

public sealed record ModelList(IReadOnlyList<ModelObject> Data)
{
    public string Object => "list";
}
