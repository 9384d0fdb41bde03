using System.Globalization;
using System.Text.Json.Nodes;

namespace Serverless.Benchmarks;

/// <summary>
/// Edits model.decoder.session_options in a GenAI model folder before it is uploaded, so a threading
/// experiment (intra_op_num_threads, spinning, ...) applies to the raw loop and the service alike.
/// </summary>
internal static class SessionOptionsPatch
{
    public static void Apply(string modelFolder, IReadOnlyDictionary<string, string> options)
    {
        if (options.Count == 0)
        {
            return;
        }

        string path = Path.Combine(modelFolder, "genai_config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        var session = config["model"]!["decoder"]!["session_options"]!.AsObject();
        foreach (var (key, value) in options)
        {
            // GenAI reads thread counts as numbers and every other entry as a string config entry.
            session[key] = int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int number) && key.EndsWith("_num_threads", StringComparison.Ordinal)
                ? JsonValue.Create(number)
                : JsonValue.Create(value);
        }

        File.WriteAllText(path, config.ToJsonString());
    }
}
