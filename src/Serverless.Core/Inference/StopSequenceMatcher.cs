using System.Text;

namespace Serverless.Core.Inference;

/// <summary>
/// Finds stop sequences in streamed text. Text that could still turn into a stop sequence is held
/// back, so neither a streamed nor a whole response ever contains any part of the stop text.
/// </summary>
public sealed class StopSequenceMatcher
{
    private readonly IReadOnlyList<string> _stops;
    private readonly int _longest;
    private readonly StringBuilder _pending = new();

    public StopSequenceMatcher(IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        _stops = stops;
        _longest = stops.Count == 0 ? 0 : stops.Max(s => s.Length);
    }

    public bool Stopped { get; private set; }

    /// <summary>
    /// Adds a decoded piece and returns the text that is now safe to emit (possibly empty).
    /// After a stop sequence is found, <see cref="Stopped"/> is true and the returned text ends before it.
    /// </summary>
    public string Push(string piece)
    {
        ArgumentNullException.ThrowIfNull(piece);
        if (_longest == 0)
        {
            return piece;
        }

        if (Stopped || piece.Length == 0)
        {
            return string.Empty;
        }

        _pending.Append(piece);
        string text = _pending.ToString();
        int stopAt = -1;
        foreach (var stop in _stops)
        {
            int index = text.IndexOf(stop, StringComparison.Ordinal);
            if (index >= 0 && (stopAt < 0 || index < stopAt))
            {
                stopAt = index;
            }
        }

        if (stopAt >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return text[..stopAt];
        }

        int hold = HeldBackLength(text);
        _pending.Clear();
        _pending.Append(text, text.Length - hold, hold);
        return hold == 0 ? text : text[..^hold];
    }

    /// <summary>Text held back at the end of generation, when no stop sequence can complete any more.</summary>
    public string Flush()
    {
        if (Stopped)
        {
            return string.Empty;
        }

        string rest = _pending.ToString();
        _pending.Clear();
        return rest;
    }

    // The longest suffix of text that is a proper prefix of some stop sequence.
    private int HeldBackLength(string text)
    {
        int max = Math.Min(text.Length, _longest - 1);
        for (int length = max; length > 0; length--)
        {
            var suffix = text.AsSpan(text.Length - length);
            foreach (var stop in _stops)
            {
                if (stop.Length > length && stop.AsSpan(0, length).SequenceEqual(suffix))
                {
                    return length;
                }
            }
        }

        return 0;
    }
}
