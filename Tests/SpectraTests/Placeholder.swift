import Testing
@Test func placeholderSpectraTests() { #expect(Bool(true)) }
