namespace Serverless.Core.Models.Demo;

/// <summary>
/// The only words the demo model can say. Random weights over the full GPT-2 vocabulary produce random
/// tokens, offensive ones included, so the model masks every token except these (each is a single GPT-2
/// token when written with a leading space, e.g. " river") and end-of-text.
/// </summary>
internal static class DemoAllowList
{
    public static IReadOnlyList<string> Words { get; } =
    [
        "the", "a", "an", "and", "or", "but", "so", "of", "to", "in", "on", "at",
        "by", "for", "with", "from", "into", "over", "under", "about", "after", "before", "near", "between",
        "through", "is", "was", "are", "were", "be", "been", "has", "have", "had", "do", "does",
        "did", "can", "will", "would", "could", "should", "may", "might", "must", "it", "its", "this",
        "that", "these", "those", "there", "here", "then", "now", "when", "where", "while", "again", "also",
        "very", "just", "only", "still", "even", "all", "some", "many", "more", "most", "few", "each",
        "every", "other", "same", "new", "old", "good", "great", "small", "big", "little", "long", "short",
        "high", "low", "happy", "bright", "calm", "clear", "cool", "warm", "soft", "quiet", "gentle", "kind",
        "brave", "clever", "simple", "early", "late", "fresh", "sweet", "green", "blue", "red", "yellow", "golden",
        "silver", "round", "open", "fine", "free", "full", "ready", "easy", "light", "dark", "deep", "wide",
        "wild", "busy", "slow", "fast", "proud", "tall", "young", "strong", "safe", "rich", "clean", "cat",
        "dog", "bird", "fish", "horse", "cow", "sheep", "duck", "bear", "fox", "rabbit", "mouse", "deer",
        "owl", "bee", "frog", "tree", "trees", "flower", "flowers", "leaf", "garden", "forest", "river", "lake",
        "sea", "ocean", "beach", "island", "mountain", "hill", "valley", "field", "sky", "sun", "moon", "star",
        "stars", "cloud", "clouds", "rain", "snow", "wind", "storm", "weather", "spring", "summer", "autumn", "winter",
        "morning", "evening", "night", "day", "week", "year", "time", "house", "home", "room", "door", "window",
        "table", "chair", "kitchen", "roof", "wall", "floor", "road", "street", "bridge", "city", "town", "village",
        "school", "library", "park", "market", "shop", "farm", "book", "books", "paper", "letter", "story", "song",
        "music", "picture", "map", "box", "bag", "basket", "cup", "plate", "bowl", "bottle", "lamp", "clock",
        "key", "bread", "cake", "apple", "orange", "lemon", "milk", "tea", "coffee", "water", "soup", "rice",
        "cheese", "honey", "sugar", "salt", "egg", "friend", "friends", "family", "mother", "father", "brother", "sister",
        "child", "children", "teacher", "student", "people", "team", "group", "neighbor", "king", "queen", "farmer", "doctor",
        "artist", "writer", "boat", "ship", "train", "car", "bus", "bike", "plane", "walk", "walked", "run",
        "ran", "jump", "sing", "sang", "dance", "play", "played", "read", "write", "wrote", "draw", "paint",
        "cook", "bake", "build", "built", "grow", "grew", "plant", "find", "found", "keep", "kept", "bring",
        "brought", "carry", "carried", "opened", "close", "closed", "look", "looked", "see", "saw", "watch", "watched",
        "hear", "heard", "listen", "learn", "learned", "teach", "taught", "help", "helped", "make", "made", "take",
        "took", "give", "gave", "go", "went", "come", "came", "sit", "sat", "stand", "stood", "sleep",
        "slept", "wake", "rest", "smile", "laugh", "laughed", "talk", "talked", "tell", "told", "ask", "asked",
        "answer", "know", "knew", "think", "thought", "feel", "felt", "like", "liked", "want", "wanted", "need",
        "visit", "visited", "travel", "share", "shared", "wait", "waited", "start", "started", "finish", "finished", "begin",
        "began", "stay", "stayed", "move", "moved", "turn", "turned", "call", "called", "live", "lived", "work",
        "worked", "idea", "plan", "journey", "path", "way", "place", "world", "land", "stone", "rock", "sand",
        "gold", "color", "colors", "shape", "sound", "voice", "word", "words", "name", "question", "reason", "moment",
        "minute", "hour", "hours", "today", "tomorrow", "yesterday", "together", "always", "never", "often", "sometimes", "soon",
        "later", "maybe", "perhaps", "almost",    ];

    /// <summary>The GPT-2 token ids of " word" for every allowed word, in list order.</summary>
    public static IReadOnlyList<int> TokenIds(Gpt2Vocabulary vocabulary)
    {
        var ids = new int[Words.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            var id = vocabulary.SingleTokenId(" " + Words[i]);
            ids[i] = id >= 0 ? id : throw new InvalidOperationException($"Allowed word '{Words[i]}' is not a single GPT-2 token.");
        }

        return ids;
    }
}
