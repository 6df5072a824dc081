package middleware

import "reflect"

// deepCopy returns a copy of *src that shares nothing mutable with it:
// pointers, slices, maps and interface values (the JSON values of custom
// claims and metadata) are copied all the way down. Unexported struct fields
// are copied by value (time.Time's location, which is immutable). It is used
// for what a handler receives, and only when the handler asks for it.
func deepCopy[T any](src *T) *T {
	if src == nil {
		return nil
	}
	dst := new(T)
	copyValue(reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem())
	return dst
}

func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		n := reflect.New(src.Type().Elem())
		copyValue(n.Elem(), src.Elem())
		dst.Set(n)
	case reflect.Struct:
		dst.Set(src)
		for i := range src.NumField() {
			if f := dst.Field(i); f.CanSet() {
				copyValue(f, src.Field(i))
			}
		}
	case reflect.Array:
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i))
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		n := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyValue(n.Index(i), src.Index(i))
		}
		dst.Set(n)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		n := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			copyValue(v, it.Value())
			n.SetMapIndex(it.Key(), v)
		}
		dst.Set(n)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := src.Elem()
		v := reflect.New(e.Type()).Elem()
		copyValue(v, e)
		dst.Set(v)
	default:
		dst.Set(src)
	}
}
