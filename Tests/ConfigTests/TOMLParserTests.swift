import Testing

@testable import Config

// Tests of the TOML parser against the examples of the TOML 1.0 specification (https://toml.io/en/v1.0.0),
// valid and invalid, plus the line and column numbers the parser attaches to values and errors.

/// Parses `text` and returns the root table.
private func parse(_ text: String) throws(TOMLError) -> TOMLTable {
    try TOML.parse(text, file: "test.toml")
}

/// The value at a dotted path of bare keys, going into tables (and into the last element of arrays
/// of tables when asked with `[n]`-free paths is not needed here).
private func value(_ table: TOMLTable, _ path: String...) -> TOMLValue? {
    var current = table
    for (index, key) in path.enumerated() {
        guard let found = current[key] else { return nil }
        if index == path.count - 1 { return found }
        guard let next = found.tableValue else { return nil }
        current = next
    }
    return nil
}

private func string(_ table: TOMLTable, _ path: String...) -> String? {
    var current = table
    for (index, key) in path.enumerated() {
        guard let found = current[key] else { return nil }
        if index == path.count - 1 { return found.stringValue }
        guard let next = found.tableValue else { return nil }
        current = next
    }
    return nil
}

/// A one-value document `v = <literal>` and the value it must give.
struct ScalarCase: Sendable, CustomTestStringConvertible {
    let literal: String
    let expected: TOMLValue.Content
    var testDescription: String { "v = \(literal)" }
}

/// A document the parser must refuse, where, and a part of the message.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let line: Int
    let column: Int?
    let message: String
    init(_ name: String, _ text: String, line: Int, column: Int? = nil, _ message: String) {
        self.name = name
        self.text = text
        self.line = line
        self.column = column
        self.message = message
    }
    var testDescription: String { name }
}

@Suite struct TOMLScalarTests {
    static let integers: [ScalarCase] = [
        // Spec, "Integer".
        ScalarCase(literal: "+99", expected: .integer(99)),
        ScalarCase(literal: "42", expected: .integer(42)),
        ScalarCase(literal: "0", expected: .integer(0)),
        ScalarCase(literal: "-17", expected: .integer(-17)),
        ScalarCase(literal: "+0", expected: .integer(0)),
        ScalarCase(literal: "-0", expected: .integer(0)),
        ScalarCase(literal: "1_000", expected: .integer(1000)),
        ScalarCase(literal: "5_349_221", expected: .integer(5_349_221)),
        ScalarCase(literal: "53_49_221", expected: .integer(5_349_221)),
        ScalarCase(literal: "1_2_3_4_5", expected: .integer(12345)),
        ScalarCase(literal: "0xDEADBEEF", expected: .integer(0xDEAD_BEEF)),
        ScalarCase(literal: "0xdeadbeef", expected: .integer(0xDEAD_BEEF)),
        ScalarCase(literal: "0xdead_beef", expected: .integer(0xDEAD_BEEF)),
        ScalarCase(literal: "0o01234567", expected: .integer(0o01234567)),
        ScalarCase(literal: "0o755", expected: .integer(0o755)),
        ScalarCase(literal: "0b11010110", expected: .integer(0b11010110)),
        ScalarCase(literal: "0x60", expected: .integer(0x60)),
        ScalarCase(literal: "9223372036854775807", expected: .integer(Int64.max)),
        ScalarCase(literal: "-9223372036854775808", expected: .integer(Int64.min)),
        ScalarCase(literal: "0x7FFFFFFFFFFFFFFF", expected: .integer(Int64.max)),
    ]

    static let floats: [ScalarCase] = [
        // Spec, "Float".
        ScalarCase(literal: "+1.0", expected: .float(1.0)),
        ScalarCase(literal: "3.1415", expected: .float(3.1415)),
        ScalarCase(literal: "-0.01", expected: .float(-0.01)),
        ScalarCase(literal: "5e+22", expected: .float(5e+22)),
        ScalarCase(literal: "1e06", expected: .float(1e06)),
        ScalarCase(literal: "-2E-2", expected: .float(-2e-2)),
        ScalarCase(literal: "6.626e-34", expected: .float(6.626e-34)),
        ScalarCase(literal: "224_617.445_991_228", expected: .float(224_617.445_991_228)),
        ScalarCase(literal: "-0.0", expected: .float(-0.0)),
        ScalarCase(literal: "+0.0", expected: .float(0.0)),
        ScalarCase(literal: "inf", expected: .float(.infinity)),
        ScalarCase(literal: "+inf", expected: .float(.infinity)),
        ScalarCase(literal: "-inf", expected: .float(-.infinity)),
        ScalarCase(literal: "0.35", expected: .float(0.35)),
        ScalarCase(literal: "1e1_0", expected: .float(1e10)),
    ]

    static let others: [ScalarCase] = [
        ScalarCase(literal: "true", expected: .boolean(true)),
        ScalarCase(literal: "false", expected: .boolean(false)),
        // Spec, "String".
        ScalarCase(
            literal: #""I'm a string. \"You can quote me\". Name\tJos\u00E9\nLocation\tSF.""#,
            expected: .string("I'm a string. \"You can quote me\". Name\tJos\u{E9}\nLocation\tSF.")),
        ScalarCase(literal: #""\b\t\n\f\r\"\\""#, expected: .string("\u{08}\t\n\u{0C}\r\"\\")),
        ScalarCase(literal: #""\U0001F600 \u00B0C""#, expected: .string("\u{1F600} °C")),
        ScalarCase(literal: #""°C µL""#, expected: .string("°C µL")),
        ScalarCase(literal: #"'C:\Users\nodejs\templates'"#, expected: .string(#"C:\Users\nodejs\templates"#)),
        ScalarCase(literal: #"'\\ServerX\admin$\system32\'"#, expected: .string(#"\\ServerX\admin$\system32\"#)),
        ScalarCase(literal: #"'Tom "Dubs" Preston-Werner'"#, expected: .string(#"Tom "Dubs" Preston-Werner"#)),
        ScalarCase(literal: #"'<\i\c*\s*>'"#, expected: .string(#"<\i\c*\s*>"#)),
        ScalarCase(literal: "''", expected: .string("")),
        ScalarCase(literal: "\"\"", expected: .string("")),
        ScalarCase(literal: "\"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"",
                   expected: .string("Here are two quotation marks: \"\". Simple enough.")),
        ScalarCase(literal: "\"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"",
                   expected: .string("\"This,\" she said, \"is just a pointless statement.\"")),
        ScalarCase(literal: "'''I [dw]on't need \\d{2} apples'''", expected: .string("I [dw]on't need \\d{2} apples")),
        ScalarCase(literal: "''''That,' she said, 'is still pointless.''''",
                   expected: .string("'That,' she said, 'is still pointless.'")),
        ScalarCase(literal: "[]", expected: .array([])),
    ]

    @Test(arguments: integers + floats + others)
    func scalar(_ example: ScalarCase) throws {
        let root = try parse("v = \(example.literal)")
        #expect(root["v"]?.content == example.expected)
        #expect(root["v"]?.line == 1)
        #expect(root["v"]?.column == 5)
    }

    @Test func notANumber() throws {
        for literal in ["nan", "+nan", "-nan"] {
            let root = try parse("v = \(literal)")
            guard case .float(let value)? = root["v"]?.content else {
                Issue.record("\(literal) is not a float")
                continue
            }
            #expect(value.isNaN)
        }
    }

    @Test func negativeZeroKeepsItsSign() throws {
        guard case .float(let value)? = try parse("v = -0.0")["v"]?.content else {
            Issue.record("not a float")
            return
        }
        #expect(value.sign == .minus)
    }
}

@Suite struct TOMLStringTests {
    @Test func multiLineBasicStringTrimsTheFirstNewline() throws {
        let root = try parse("str1 = \"\"\"\nRoses are red\nViolets are blue\"\"\"")
        #expect(root["str1"]?.stringValue == "Roses are red\nViolets are blue")
    }

    @Test func lineEndingBackslashJoinsLines() throws {
        // Spec: str1, str2 and str3 are all the same string.
        let text = """
            str1 = "The quick brown fox jumps over the lazy dog."

            str2 = \"\"\"
            The quick brown \\


              fox jumps over \\
                the lazy dog.\"\"\"

            str3 = \"\"\"\\
                   The quick brown \\
                   fox jumps over \\
                   the lazy dog.\\
                   \"\"\"
            """
        let root = try parse(text)
        let expected = "The quick brown fox jumps over the lazy dog."
        #expect(root["str1"]?.stringValue == expected)
        #expect(root["str2"]?.stringValue == expected)
        #expect(root["str3"]?.stringValue == expected)
        #expect(root.entry("str3")?.line == 10)
    }

    @Test func multiLineStringsKeepInnerNewlinesAndQuotes() throws {
        let text = #"""
            str4 = """Here are two quotation marks: "". Simple enough."""
            str5 = """Here are three quotation marks: ""\"."""
            str6 = """Here are fifteen quotation marks: ""\"""\"""\"""\"""\"."""
            lines = '''
            The first newline is
            trimmed in raw strings.
               All other whitespace
               is preserved.
            '''
            after = 1
            """#
        let root = try parse(text)
        #expect(root["str4"]?.stringValue == #"Here are two quotation marks: "". Simple enough."#)
        #expect(root["str5"]?.stringValue == #"Here are three quotation marks: """."#)
        #expect(root["str6"]?.stringValue
            == "Here are fifteen quotation marks: " + String(repeating: "\"", count: 15) + ".")
        #expect(root["lines"]?.stringValue
            == "The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n")
        #expect(root.entry("after")?.line == 10)
    }

    @Test func crlfLineEndingsAreNewlines() throws {
        let root = try parse("a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n# comment\r\nc = 3\r\n")
        #expect(root["a"]?.integerValue == 1)
        #expect(root["b"]?.stringValue == "x\ny")
        #expect(root.entry("c")?.line == 5)
    }
}

@Suite struct TOMLStructureTests {
    @Test func keysBareQuotedAndDotted() throws {
        let text = """
            key = "value"
            bare_key = "value"
            bare-key = "value"
            1234 = "value"
            "127.0.0.1" = "value"
            "character encoding" = "value"
            "ʎǝʞ" = "value"
            'key2' = "value"
            'quoted "value"' = "value"
            "" = "blank"
            name = "Orange"
            physical.color = "orange"
            physical.shape = "round"
            site."google.com" = true
            fruit.name = "banana"     # this is best practice
            fruit. color = "yellow"    # same as fruit.color
            fruit . flavor = "banana"   # same as fruit.flavor
            3.14159 = "pi"
            """
        let root = try parse(text)
        #expect(root.keys == [
            "key", "bare_key", "bare-key", "1234", "127.0.0.1", "character encoding", "ʎǝʞ", "key2",
            "quoted \"value\"", "", "name", "physical", "site", "fruit", "3",
        ])
        #expect(string(root, "physical", "shape") == "round")
        #expect(value(root, "site", "google.com")?.content == .boolean(true))
        #expect(value(root, "fruit")?.tableValue?.keys == ["name", "color", "flavor"])
        #expect(string(root, "fruit", "flavor") == "banana")
        #expect(string(root, "3", "14159") == "pi")
        #expect(root[""]?.stringValue == "blank")
        #expect(root["physical"]?.tableValue?.origin == .dottedKeys)
        #expect(root.entry("physical")?.line == 12)
        #expect(root.entry("3")?.line == 18)
    }

    @Test func tablesCarryTheirHeaderLines() throws {
        let text = """
            [table-1]
            key1 = "some string"
            key2 = 123

            [table-2]
            key1 = "another string"
            key2 = 456

            [dog."tater.man"]
            type.name = "pug"

            [a.b.c]            # this is best practice
            [ d.e.f ]          # same as [d.e.f]
            [ g .  h  . i ]    # same as [g.h.i]
            [ j . "ʞ" . 'l' ]  # same as [j."ʞ".l]
            """
        let root = try parse(text)
        #expect(root.keys == ["table-1", "table-2", "dog", "a", "d", "g", "j"])
        #expect(root["table-1"]?.tableValue?.line == 1)
        #expect(root["table-2"]?.line == 5)
        #expect(value(root, "table-2", "key2")?.content == .integer(456))
        #expect(value(root, "table-2", "key2")?.line == 7)
        #expect(value(root, "dog", "tater.man", "type", "name")?.stringValue == "pug")
        #expect(value(root, "dog")?.tableValue?.origin == .implicit)
        #expect(value(root, "dog", "tater.man")?.tableValue?.origin == .header)
        #expect(value(root, "dog", "tater.man")?.line == 9)
        #expect(value(root, "g", "h", "i")?.tableValue?.entries.isEmpty == true)
        #expect(value(root, "j", "ʞ", "l")?.line == 15)
    }

    @Test func superTablesMayBeDefinedAfterwards() throws {
        let text = """
            # [x] you
            # [x.y] don't
            # [x.y.z] need these
            [x.y.z.w] # for this to work

            [x] # defining a super-table afterward is ok
            answer = 42
            """
        let root = try parse(text)
        #expect(value(root, "x", "answer")?.content == .integer(42))
        #expect(value(root, "x")?.tableValue?.origin == .header)
        #expect(value(root, "x")?.line == 6)
        #expect(value(root, "x", "y")?.tableValue?.origin == .implicit)
        #expect(value(root, "x", "y", "z", "w")?.line == 4)
    }

    @Test func dottedKeysAndHeadersTogether() throws {
        let text = """
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true

            [fruit.apple.texture]  # you can add sub-tables
            smooth = true
            """
        let root = try parse(text)
        #expect(value(root, "fruit", "apple", "color")?.stringValue == "red")
        #expect(value(root, "fruit", "apple", "taste", "sweet")?.content == .boolean(true))
        #expect(value(root, "fruit", "apple", "texture", "smooth")?.content == .boolean(true))
        #expect(value(root, "fruit", "apple")?.tableValue?.keys == ["color", "taste", "texture"])
    }

    @Test func rootTableComesBeforeHeaders() throws {
        let text = """
            # Top-level table begins.
            name = "Fido"
            breed = "pug"

            # Top-level table ends.
            [owner]
            name = "Regina Dogman"
            member_since = 1999
            """
        let root = try parse(text)
        #expect(root.keys == ["name", "breed", "owner"])
        #expect(string(root, "owner", "name") == "Regina Dogman")
        #expect(root.origin == .root)
    }

    @Test func arraysNestedMixedMultiLine() throws {
        let text = """
            integers = [ 1, 2, 3 ]
            colors = [ "red", "yellow", "green" ]
            nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]
            nested_mixed_array = [ [ 1, 2 ], ["a", "b", "c"] ]
            string_array = [ "all", 'strings', \"\"\"are the same\"\"\", '''type''' ]
            numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]
            contributors = [
              "Foo Bar <foo@example.com>",
              { name = "Baz Qux", email = "bazqux@example.com", url = "https://example.com/bazqux" }
            ]
            integers2 = [
              1, 2, 3
            ]
            integers3 = [
              1,
              2, # this is ok
            ]
            last = [ # comment
              # another
            ]
            """
        let root = try parse(text)
        #expect(root["integers"]?.content == .array([
            TOMLValue(content: .integer(1), line: 1, column: 14),
            TOMLValue(content: .integer(2), line: 1, column: 17),
            TOMLValue(content: .integer(3), line: 1, column: 20),
        ]))
        guard case .array(let nested)? = root["nested_mixed_array"]?.content, nested.count == 2,
              case .array(let letters) = nested[1].content
        else {
            Issue.record("nested_mixed_array is not two arrays")
            return
        }
        #expect(letters.map(\.stringValue) == ["a", "b", "c"])
        guard case .array(let strings)? = root["string_array"]?.content else {
            Issue.record("string_array is not an array")
            return
        }
        #expect(strings.map(\.stringValue) == ["all", "strings", "are the same", "type"])
        guard case .array(let contributors)? = root["contributors"]?.content, contributors.count == 2 else {
            Issue.record("contributors is not an array of two")
            return
        }
        #expect(contributors[1].line == 9)
        #expect(contributors[1].tableValue?["email"]?.stringValue == "bazqux@example.com")
        #expect(contributors[1].tableValue?.origin == .inline)
        guard case .array(let integers3)? = root["integers3"]?.content else {
            Issue.record("integers3 is not an array")
            return
        }
        #expect(integers3.map(\.integerValue) == [1, 2])
        #expect(integers3.map(\.line) == [15, 16])
        #expect(root["last"]?.content == .array([]))
        #expect(root.entry("last")?.line == 18)
    }

    @Test func inlineTables() throws {
        let text = """
            name = { first = "Tom", last = "Preston-Werner" }
            point = { x = 1, y = 2 }
            animal = { type.name = "pug" }
            empty = {}
            """
        let root = try parse(text)
        #expect(value(root, "name")?.tableValue?.keys == ["first", "last"])
        #expect(value(root, "name", "last")?.stringValue == "Preston-Werner")
        #expect(value(root, "name", "last")?.column == 32)
        #expect(value(root, "point", "y")?.content == .integer(2))
        #expect(value(root, "animal", "type", "name")?.stringValue == "pug")
        #expect(value(root, "empty")?.tableValue?.entries.isEmpty == true)
    }

    @Test func arraysOfTables() throws {
        let text = """
            [[products]]
            name = "Hammer"
            sku = 738594937

            [[products]]  # empty table within the array

            [[products]]
            name = "Nail"
            sku = 284758393

            color = "gray"

            [[fruits]]
            name = "apple"

            [fruits.physical]  # subtable
            color = "red"
            shape = "round"

            [[fruits.varieties]]  # nested array of tables
            name = "red delicious"

            [[fruits.varieties]]
            name = "granny smith"


            [[fruits]]
            name = "banana"

            [[fruits.varieties]]
            name = "plantain"
            """
        let root = try parse(text)
        guard case .array(let products)? = root["products"]?.content else {
            Issue.record("products is not an array")
            return
        }
        #expect(products.map(\.line) == [1, 5, 7])
        #expect(products.map { $0.tableValue?["name"]?.stringValue } == ["Hammer", nil, "Nail"])
        #expect(products[2].tableValue?["color"]?.stringValue == "gray")
        #expect(products[1].tableValue?.entries.isEmpty == true)

        guard case .array(let fruits)? = root["fruits"]?.content, fruits.count == 2 else {
            Issue.record("fruits is not an array of two")
            return
        }
        #expect(fruits[0].tableValue?["physical"]?.tableValue?["shape"]?.stringValue == "round")
        guard case .array(let appleVarieties)? = fruits[0].tableValue?["varieties"]?.content,
              case .array(let bananaVarieties)? = fruits[1].tableValue?["varieties"]?.content
        else {
            Issue.record("varieties are not arrays")
            return
        }
        #expect(appleVarieties.map { $0.tableValue?["name"]?.stringValue } == ["red delicious", "granny smith"])
        #expect(bananaVarieties.map { $0.tableValue?["name"]?.stringValue } == ["plantain"])
        #expect(bananaVarieties[0].line == 30)
    }

    @Test func specOverviewWithoutItsDate() throws {
        // The overview example of the spec, less `dob` (dates are refused in Aliquot files).
        let text = """
            # This is a TOML document

            title = "TOML Example"

            [owner]
            name = "Tom Preston-Werner"

            [database]
            enabled = true
            ports = [ 8000, 8001, 8002 ]
            data = [ ["delta", "phi"], [3.14] ]
            temp_targets = { cpu = 79.5, case = 72.0 }

            [servers]

            [servers.alpha]
            ip = "10.0.0.1"
            role = "frontend"

            [servers.beta]
            ip = "10.0.0.2"
            role = "backend"
            """
        let root = try parse(text)
        #expect(root.keys == ["title", "owner", "database", "servers"])
        #expect(value(root, "database", "temp_targets", "case")?.content == .float(72.0))
        #expect(value(root, "database", "enabled")?.line == 9)
        #expect(value(root, "servers")?.tableValue?.keys == ["alpha", "beta"])
        #expect(value(root, "servers", "beta", "role")?.stringValue == "backend")
        #expect(value(root, "servers", "beta")?.line == 20)
    }

    @Test func byteOrderMarkIsIgnored() throws {
        let root = try parse("\u{FEFF}a = 1")
        #expect(root["a"]?.integerValue == 1)
        #expect(root["a"]?.column == 5)
    }
}

@Suite struct TOMLInvalidTests {
    static let cases: [InvalidCase] = [
        // Keys and key/value pairs (spec, "Keys" and "Key/Value Pair").
        InvalidCase("value missing", "key = # INVALID", line: 1, column: 7, "missing value after ="),
        InvalidCase("two pairs on one line", #"first = "Tom" last = "Preston-Werner" # INVALID"#, line: 1, column: 15,
                    "unexpected 'l' after the value; expected the end of the line"),
        InvalidCase("key missing", #"= "no key name"  # INVALID"#, line: 1, column: 1, "expected a key, found '='"),
        InvalidCase("empty quoted and bare mixed", "a = 1\n\"\"\"key\"\"\" = 1", line: 2, column: 1,
                    "a key cannot be a multi-line string"),
        InvalidCase("no equals", "a = 1\nb 2", line: 2, column: 3, "expected = after the key b, found '2'"),
        InvalidCase("duplicate key", "name = \"Tom\"\nname = \"Pradyun\"", line: 2, column: 1,
                    "duplicate key name (first defined at line 1)"),
        InvalidCase("duplicate bare and quoted", "spelling = \"favorite\"\n\"spelling\" = \"favourite\"", line: 2,
                    "duplicate key spelling (first defined at line 1)"),
        InvalidCase("value then table by dotted keys", "fruit.apple = 1\nfruit.apple.smooth = true", line: 2,
                    "key fruit.apple already holds an integer (line 1); it cannot also be a table"),
        // Tables.
        InvalidCase("table defined twice", "[fruit]\napple = \"red\"\n\n[fruit]\norange = \"orange\"", line: 4,
                    column: 1, "table [fruit] is defined twice (first at line 1)"),
        InvalidCase("table over a value", "[fruit]\napple = \"red\"\n\n[fruit.apple]\ntexture = \"smooth\"", line: 4,
                    "key fruit.apple already holds a string (line 2); it cannot also be a table"),
        InvalidCase("header over dotted keys", "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple]",
                    line: 4, "table [fruit.apple] is already defined by dotted keys (line 2)"),
        InvalidCase("header over nested dotted keys", "[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]",
                    line: 3, "table [fruit.apple.taste] is already defined by dotted keys (line 2)"),
        InvalidCase("dotted keys into a header table", "[a.b.c]\nz = 9\n[a]\nb.c.t = 1", line: 4, column: 1,
                    "table a.b is defined by a table header (line 1); dotted keys cannot add to it"),
        InvalidCase("root dotted keys then header", "a.b = 1\n[a]", line: 2,
                    "table [a] is already defined by dotted keys (line 1)"),
        InvalidCase("super-table twice", "[a.b]\n[a]\n[a]", line: 3, "table [a] is defined twice (first at line 2)"),
        InvalidCase("inline table extended by dotted keys", "[product]\ntype = { name = \"Nail\" }\ntype.edible = false",
                    line: 3, "product.type is an inline table (line 2); it cannot be extended"),
        InvalidCase("inline table redefined by dotted keys", "[product]\ntype.name = \"Nail\"\ntype = { edible = false }",
                    line: 3, "duplicate key product.type (first defined at line 2)"),
        InvalidCase("inline table redefined by a header", "a = {}\n[a]", line: 2,
                    "[a] is already an inline table (line 1); it cannot be redefined"),
        InvalidCase("empty header", "[]", line: 1, column: 2, "expected a key, found ']'"),
        InvalidCase("unclosed header", "[a\nb = 1", line: 1, column: 3, "expected ] to close the table header"),
        InvalidCase("unclosed array-of-tables header", "[[a]\nb = 1", line: 1, column: 5,
                    "expected ]] to close the array-of-tables header"),
        InvalidCase("text after a header", "[a] b = 1", line: 1, column: 5,
                    "unexpected 'b' after the table header; expected the end of the line"),
        // Arrays of tables.
        InvalidCase("append to a static array", "fruits = []\n\n[[fruits]] # Not allowed", line: 3,
                    "[[fruits]] cannot append to fruits: it is a static array (line 1)"),
        InvalidCase("table over an array of tables",
                    "[[fruits]]\nname = \"apple\"\n[[fruits.varieties]]\nname = \"red delicious\"\n[fruits.varieties]\nname = \"granny smith\"",
                    line: 5, "[fruits.varieties] is already an array of tables (line 3); it cannot be a table too"),
        InvalidCase("array of tables over a table", "[fruit.physical]\ncolor = \"red\"\n\n[[fruit]]", line: 4,
                    "[[fruit]] cannot append to fruit: it is already a table (line 1)"),
        // From toml-lang/toml-test.
        InvalidCase("table inside a static array", "a = [{ b = 1 }]\n[a.c]\nfoo = 1", line: 2,
                    "key a already holds an array (line 1); it cannot also be a table"),
        InvalidCase("nested inline key conflict",
                    "tbl = { fruit = { apple.color = \"red\", apple.taste.sweet = true }, fruit.apple.texture = { smooth = true } }",
                    line: 1, column: 68, "tbl.fruit is an inline table (line 1); it cannot be extended"),
        InvalidCase("double sign", "a = ++99", line: 1, "invalid number ++99"),
        InvalidCase("positive hex", "a = +0xff", line: 1, "hexadecimal, octal and binary integers take no sign"),
        InvalidCase("bad octal tail", "a = 0o778", line: 1, "invalid number 0o778"),
        InvalidCase("zero underscore zero", "a = 0_0", line: 1, "leading zeros are not allowed"),
        // Integers.
        InvalidCase("leading zero", "a = 1\nb = 017", line: 2, column: 5, "invalid number 017: leading zeros are not allowed"),
        InvalidCase("signed leading zero", "a = +01", line: 1, "leading zeros are not allowed"),
        InvalidCase("float leading zero", "a = 00.5", line: 1, "leading zeros are not allowed"),
        InvalidCase("double underscore", "a = 1__2", line: 1, "an underscore must be between two digits"),
        InvalidCase("trailing underscore", "a = 1_", line: 1, "an underscore must be between two digits"),
        InvalidCase("underscore after prefix", "a = 0x_1", line: 1, "an underscore must be between two digits"),
        InvalidCase("signed hex", "a = -0x1", line: 1, "hexadecimal, octal and binary integers take no sign"),
        InvalidCase("prefix without digits", "a = 0x", line: 1, "invalid number 0x"),
        InvalidCase("bad hex digit", "a = 0xG1", line: 1, "invalid number 0xG1"),
        InvalidCase("bad octal digit", "a = 0o8", line: 1, "invalid number 0o8"),
        InvalidCase("uppercase prefix", "a = 0X1F", line: 1, "invalid number 0X1F"),
        InvalidCase("integer overflow", "a = 9223372036854775808", line: 1, "does not fit in 64 bits"),
        InvalidCase("integer underflow", "a = -9223372036854775809", line: 1, "does not fit in 64 bits"),
        // Floats (spec: "INVALID FLOATS").
        InvalidCase("no leading digit", "invalid_float_1 = .7", line: 1, column: 19,
                    "invalid number .7: a number needs a digit before the decimal point"),
        InvalidCase("no trailing digit", "invalid_float_2 = 7.", line: 1,
                    "invalid number 7.: a decimal point must be followed by a digit"),
        InvalidCase("point before exponent", "invalid_float_3 = 3.e+20", line: 1,
                    "a decimal point must be followed by a digit"),
        InvalidCase("empty exponent", "a = 1e", line: 1, "invalid number 1e: an exponent needs digits"),
        InvalidCase("float overflow", "a = 1e400", line: 1, "float 1e400 is out of range"),
        InvalidCase("capitalised inf", "a = Inf", line: 1, "Inf is not a value: strings need quotes"),
        // Booleans and bare words.
        InvalidCase("capitalised boolean", "a = True", line: 1, "True is not a value: booleans are lowercase, true or false"),
        InvalidCase("bare word", "a = twin", line: 1, column: 5, "twin is not a value: strings need quotes (\"twin\")"),
        // Strings.
        InvalidCase("bad escape", "a = 1\nb = \"C:\\Users\"", line: 2, column: 8, "invalid escape \\U: it needs exactly 8 hexadecimal digits"),
        InvalidCase("unknown escape", "a = \"\\q\"", line: 1, column: 6, "invalid escape \\q; allowed:"),
        InvalidCase("hex escape is TOML 1.1", "a = \"\\x41\"", line: 1, "invalid escape \\x"),
        InvalidCase("short unicode escape", "a = \"\\u12\"", line: 1, "invalid escape \\u: it needs exactly 4 hexadecimal digits"),
        InvalidCase("surrogate escape", "a = \"\\uD800\"", line: 1, "U+D800 is not a Unicode scalar value"),
        InvalidCase("escape beyond Unicode", "a = \"\\U00110000\"", line: 1, "U+110000 is not a Unicode scalar value"),
        InvalidCase("newline in a basic string", "a = \"abc\ndef\"", line: 1, column: 9,
                    "unterminated string: a newline before the closing quote"),
        InvalidCase("newline in a literal string", "a = 'abc\ndef'", line: 1, "unterminated string: a newline"),
        InvalidCase("unterminated string", "a = 1\nb = \"abc", line: 2, column: 5, "unterminated string"),
        InvalidCase("unterminated multi-line string", "a = \"\"\"abc\n\ndef", line: 1, column: 5,
                    "unterminated multi-line string"),
        InvalidCase("control character in a string", "a = \"a\u{01}b\"", line: 1,
                    "control character U+0001 must be escaped in a string"),
        InvalidCase("backslash and spaces mid-line", "a = \"\"\"abc\\  def\"\"\"", line: 1, column: 11,
                    "a backslash followed by spaces must end the line"),
        InvalidCase("six closing quotes", "a = \"\"\"abc\"\"\"\"\"\"", line: 1,
                    "unexpected '\"' after the value"),
        // Arrays and inline tables.
        InvalidCase("unterminated array", "a = [1, 2\n\nb = 3", line: 3, "expected , or ] after an array element, found 'b'"),
        InvalidCase("array at end of file", "a = [1, 2", line: 1, column: 5, "unterminated array: expected ]"),
        InvalidCase("missing comma", "a = [1 2]", line: 1, column: 8, "expected , or ] after an array element, found '2'"),
        InvalidCase("empty element", "a = [1,,2]", line: 1, column: 8, "expected a value, found ','"),
        InvalidCase("multi-line inline table", "a = { b = 1,\n c = 2 }", line: 1, column: 13,
                    "an inline table must be on one line"),
        InvalidCase("inline table trailing comma", "a = { b = 1, }", line: 1, column: 14,
                    "a trailing comma is not allowed in an inline table"),
        InvalidCase("duplicate key in inline table", "a = { b = 1, b = 2 }", line: 1, column: 14,
                    "duplicate key a.b (first defined at line 1)"),
        // Dates and times are refused in Aliquot files.
        InvalidCase("offset date-time", "title = \"x\"\ndob = 1979-05-27T07:32:00-08:00", line: 2, column: 7,
                    "dates and times are not supported in Aliquot files (found 1979-05-27T07:32:00-08:00)"),
        InvalidCase("local date-time with a space", "ldt = 1979-05-27 07:32:00", line: 1,
                    "dates and times are not supported in Aliquot files (found 1979-05-27)"),
        InvalidCase("local date", "ld = 1979-05-27", line: 1, "dates and times are not supported in Aliquot files"),
        InvalidCase("local time", "lt = 07:32:00", line: 1, "dates and times are not supported in Aliquot files"),
        // Whitespace and comments.
        InvalidCase("bare carriage return", "a = 1\rb = 2", line: 1, column: 6,
                    "a carriage return must be followed by a line feed"),
        InvalidCase("control character in a comment", "a = 1 # bell\u{07}", line: 1, column: 13,
                    "control character U+0007 is not allowed in a comment"),
        InvalidCase("too deep", "a = " + String(repeating: "[", count: 200), line: 1,
                    "values are nested more than 100 deep"),
    ]

    @Test(arguments: cases)
    func refused(_ example: InvalidCase) {
        let error = #expect(throws: TOMLError.self) { try TOML.parse(example.text, file: "bad.toml") }
        #expect(error?.file == "bad.toml")
        #expect(error?.line == example.line)
        if let column = example.column {
            #expect(error?.column == column)
        }
        #expect(error?.message.contains(example.message) == true, "message: \(error?.message ?? "none")")
    }

    @Test func errorDescriptionNamesFileLineAndColumn() {
        let error = #expect(throws: TOMLError.self) { try TOML.parse("a = 1\nb = 017", file: "Boards/x.toml") }
        #expect(error?.description == "Boards/x.toml:2:5: invalid number 017: leading zeros are not allowed")
    }

    @Test func columnsCountCharactersNotBytes() {
        // "°" is two bytes in UTF-8 but one column.
        let error = #expect(throws: TOMLError.self) { try TOML.parse("unit = \"°C\" x", file: "u.toml") }
        #expect(error?.line == 1)
        #expect(error?.column == 13)
    }
}
